"""The funnel's web routes, one module per page family."""

from __future__ import annotations

from typing import Any


def all_routes() -> list[Any]:
    from rapport_funnel.routes import board, deal_page, reports, settings

    return [
        *board.ROUTES,
        *deal_page.ROUTES,
        *settings.ROUTES,
        *reports.ROUTES,
    ]
