"""The raw baseline card page as a bare ASGI app, for the same server (uvicorn) Rapport uses.

``uvicorn bench.baseline_app:create --factory`` with ``BENCH_DATABASE`` (the SQLite file) and
``BENCH_LAYOUT`` (the layout's non-database part, JSON) in the environment. Each worker
process keeps one ``sqlite3`` connection; the card is :meth:`bench.baseline.Baseline.card`.
"""

from __future__ import annotations

import json
import os
import re
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from bench.baseline import Baseline

_CARD = re.compile(r"^/contacts/(\d+)$")


async def _declarations() -> None:
    """Load the installed plugins' declarations (activity kinds and their labels), which the
    shared timeline helpers look up; the baseline's queries never use Rapport's engine."""
    from rapport import bootstrap
    from rapport.settings import load_settings

    await bootstrap.start(
        load_settings(Path(os.environ["BENCH_DATABASE"]).parent), call_startup=False
    )


def create() -> Any:
    baseline = Baseline(
        Path(os.environ["BENCH_DATABASE"]), json.loads(os.environ.get("BENCH_LAYOUT", "{}"))
    )

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await _declarations()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        match = _CARD.match(scope["path"])
        status, body = 404, b"not found"
        if match:
            cookies = SimpleCookie()
            for name, value in scope["headers"]:
                if name == b"cookie":
                    cookies.load(value.decode("latin-1"))
            token = cookies["rapport_session"].value if "rapport_session" in cookies else ""
            try:
                body = baseline.card(token, int(match.group(1))).encode()
                status = 200
            except PermissionError:
                status, body = 401, b"sign in"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app
