"""The funnel's web routes, one module per page family."""

from __future__ import annotations

from typing import Any


def all_routes() -> list[Any]:
    return []
