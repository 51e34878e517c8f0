"""Asynchronous outbox consumers, as plugins declare them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rapport.events.base import Event, EventMeta


@dataclass(frozen=True)
class Consumer:
    name: str
    handle: Callable[[Event, EventMeta], Awaitable[Any]]
    types: tuple[str, ...] | str = "*"
    max_attempts: int = 10

    def wants(self, event_type: str) -> bool:
        return self.types == "*" or event_type in self.types
