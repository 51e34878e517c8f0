"""Per-token rate limits: a fixed-window counter in the database.

The counter lives in the database, not in process memory, so several app processes behind a
load balancer share one budget per token; one upsert per request counts and reads it
atomically on both SQLite and PostgreSQL. The limit is ``[api] rate_limit`` requests per
minute per token in ``rapport.toml`` (default 600).
"""

from __future__ import annotations

import math
import time
from typing import Any

from rapport.rest.tables import ApiRateWindow
from rapport.runtime import current

WINDOW_SECONDS = 60
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


async def count_request(token_id: int, now: float | None = None) -> tuple[bool, int]:
    """Count one request of the token; return (allowed, seconds until the window resets)."""
    now = time.time() if now is None else now
    start = int(now // WINDOW_SECONDS * WINDOW_SECONDS)
    rows = await ApiRateWindow.raw(_COUNT, token_id, start)
    hits = int(rows[0]["hits"])
    if hits == 1:
        # A new window: forget this token's older ones (the table stays one row per token).
        await ApiRateWindow.delete().where(
            (ApiRateWindow.token_id == token_id) & (ApiRateWindow.window_start < start)
        )
    retry_after = max(1, math.ceil(start + WINDOW_SECONDS - now))
    return hits <= limit_per_window(), retry_after
