"""Asynchronous outbox consumers, as plugins declare them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rapport.events.base import Event, EventMeta


def type_matches(pattern: str, event_type: str) -> bool:
    """``*`` matches every type, ``contact.*`` every type starting ``contact.``, else exact."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


@dataclass(frozen=True)
class Consumer:
    """An asynchronous reader of the outbox.

    ``types`` is ``"*"`` or a tuple of types and patterns (``"contact.*"``). A failed event is
    retried after ``backoff_base`` seconds, doubling up to ``backoff_cap`` (None: the
    worker's defaults), and given up on after ``max_attempts`` attempts.

    ``handle_batch``, when given, takes several events at once (a list of ``(event, meta)``
    pairs in outbox order, at most ``batch_size``, never two of one key), so a consumer can
    do their work in one transaction. If it returns, every event of the list is delivered;
    if it raises, each event of the list is handed to ``handle`` alone, with the usual
    retries for those that fail there. ``handle`` is always required: it is the fallback,
    and what retries of a failed event use.
    """

    name: str
    handle: Callable[[Event, EventMeta], Awaitable[Any]]
    types: tuple[str, ...] | str = "*"
    max_attempts: int = 10
    backoff_base: float | None = None
    backoff_cap: float | None = None
    handle_batch: Callable[[list[tuple[Event, EventMeta]]], Awaitable[Any]] | None = None
    batch_size: int = 50

    def wants(self, event_type: str) -> bool:
        if isinstance(self.types, str):
            return type_matches(self.types, event_type)
        return any(type_matches(pattern, event_type) for pattern in self.types)
