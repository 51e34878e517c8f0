"""What plugins declare for background work: jobs, schedules, long-lived services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobDefinition:
    name: str
    func: Callable[..., Awaitable[Any] | Any]  # called with the job's args as keywords
    max_attempts: int = 5
    timeout: float = 600.0


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str  # five-field cron expression, UTC
    job: str
    args: dict[str, Any] | None = None


@dataclass(frozen=True)
class Service:
    """A long-lived task; ``run`` is awaited until it returns or is cancelled at stop."""

    name: str
    run: Callable[[], Awaitable[None]]
