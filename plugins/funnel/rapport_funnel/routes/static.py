"""The plugin's static files (board script, styles, the vendored SortableJS) under
``/static/plugins/funnel/``, served like the core's and public like them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def static_router() -> Any:
    return create_static_files_router(
        path="/static/plugins/funnel",
        directories=[STATIC_DIR],
        name="funnel-static",
        opt={"public": True},
        include_in_schema=False,
    )
