"""Per-token rate limits: a sliding window over per-minute counters in the database.

The counter lives in the database, not in process memory, so several app processes behind a
load balancer share one budget per token; one upsert per request counts and reads it
atomically on both SQLite and PostgreSQL. The limit is ``[api] rate_limit`` requests per
minute per token in ``rapport.toml`` (default 600). A request is judged by this minute's
count plus the previous minute's, weighted by the share of it still within the last sixty
seconds (:func:`rapport.web.inbound.sliding_decision`), so no token gets twice its budget
around the turn of a minute; a refused request is not counted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from rapport.rest.tables import ApiRateWindow
from rapport.runtime import current
from rapport.web.inbound import sliding_decision

WINDOW_SECONDS = 60
SCOPE_KEY = "rapport_rate_state"  # where the guard leaves the count for the headers
DEFAULT_LIMIT = 600

_COUNT = (
    "INSERT INTO rapport_api_rate (token_id, window_start, hits) VALUES ({}, {}, 1)"
    " ON CONFLICT (token_id, window_start) DO UPDATE SET hits = rapport_api_rate.hits + 1"
    " RETURNING hits"
)


def limit_per_window() -> int:
    configured: Any = current().settings.extra.get("api")
    if isinstance(configured, dict):
        value = configured.get("rate_limit")
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_LIMIT


@dataclass(frozen=True)
class RateState:
    """The outcome of counting one request, and what its ``RateLimit-*`` headers say."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds to wait when refused, 0 when allowed
    reset: int  # seconds until this minute's counter starts afresh

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


async def count_request(token_id: int, now: float | None = None) -> RateState:
    """Count one request of the token against its budget."""
    now = time.time() if now is None else now
    start = int(now // WINDOW_SECONDS * WINDOW_SECONDS)
    rows = await ApiRateWindow.raw(_COUNT, token_id, start)
    hits = int(rows[0]["hits"])
    if hits == 1:
        # A new window: forget the token's windows before the previous one.
        await ApiRateWindow.delete().where(
            (ApiRateWindow.token_id == token_id)
            & (ApiRateWindow.window_start < start - WINDOW_SECONDS)
        )
    previous = await (
        ApiRateWindow.select(ApiRateWindow.hits)
        .where(
            (ApiRateWindow.token_id == token_id)
            & (ApiRateWindow.window_start == start - WINDOW_SECONDS)
        )
        .first()
    )
    limit = limit_per_window()
    decision = sliding_decision(
        limit, WINDOW_SECONDS, previous["hits"] if previous else 0, hits - 1, now
    )
    if not decision.allowed:
        await ApiRateWindow.update({ApiRateWindow.hits: ApiRateWindow.hits - 1}).where(
            (ApiRateWindow.token_id == token_id) & (ApiRateWindow.window_start == start)
        )
    reset = max(1, math.ceil(start + WINDOW_SECONDS - now))
    return RateState(decision.allowed, limit, decision.remaining, decision.retry_after, reset)


def rate_limit_headers_middleware(app: ASGIApp) -> ASGIApp:
    """Every answer of a counted request says the token's budget (``RateLimit-Limit``,
    ``-Remaining``, ``-Reset``, as GitHub and the IETF draft on rate-limit headers do), so an
    integration can slow down before it is refused."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            state = scope.get(SCOPE_KEY)  # type: ignore[misc]
            if message["type"] == "http.response.start" and isinstance(state, RateState):
                headers = list(message.get("headers", []))
                headers.extend((k.lower().encode(), v.encode()) for k, v in state.headers().items())
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
