"""Retry bookkeeping of outbox delivery: failed events wait, per consumer and key, in
``rapport_delivery_retry`` — ``pending`` (due again after a back-off), ``waiting`` (behind an
earlier failure of the same key, to keep the key's order) or ``dead`` (given up on)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapport.db.current import is_sqlite
from rapport.db.transaction import transaction
from rapport.events.consumers import Consumer
from rapport.events.delivery_attempts import Watchdog, attempt
from rapport.events.delivery_counts import DeliveryStats
from rapport.events.delivery_leases import utcnow
from rapport.events.tables import DeliveryRetry

log = logging.getLogger("rapport.events.delivery")

PENDING, WAITING, DEAD = "pending", "waiting", "dead"
_EVENT_COLUMNS = 'o.id, o.type, o.version, o."key", o.payload, o.actor, o.created_at'


@dataclass
class _Retry:
    """A retry row with the outbox row it stands for (``event`` None if pruned)."""

    id: int
    event_id: int
    key: str
    attempts: int
    event: dict[str, Any] | None


@dataclass
class _RetryWrites:
    deletes: list[int] = field(default_factory=list)
    updates: list[tuple[int, str, int, dt.datetime, str]] = field(default_factory=list)


def backoff(attempts: int, options: Any, consumer: Consumer) -> dt.timedelta:
    base = options.backoff_base if consumer.backoff_base is None else consumer.backoff_base
    cap = options.backoff_cap if consumer.backoff_cap is None else consumer.backoff_cap
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def in_list(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    if is_sqlite():
        return f"{column} IN ({', '.join('{}' for _ in values)})", list(values)
    return f"{column} = ANY({{}})", [list(values)]


def _retry_from(row: dict[str, Any]) -> _Retry:
    event = None if row.get("id") is None else row
    return _Retry(row["retry_id"], row["event_id"], row["retry_key"], row["attempts"], event)


class RetryBookkeeping:
    """The retry half of :class:`rapport.events.delivery.Delivery`: reading, attempting and
    storing retry rows. Expects ``options`` on the instance and ``_renew`` (the fenced lease
    renewal of :class:`rapport.events.delivery_leases.CursorLeases`)."""

    options: Any
    _renew: Callable[[str, int | None], Awaitable[None]]

    async def _due_heads(self, name: str) -> list[_Retry]:
        rows = await DeliveryRetry.raw(
            'SELECT r.id AS retry_id, r.event_id, r."key" AS retry_key, r.attempts,'
            f" {_EVENT_COLUMNS} FROM rapport_delivery_retry r"
            " LEFT JOIN rapport_outbox o ON o.id = r.event_id"
            " WHERE r.consumer = {} AND r.status = 'pending' AND r.next_attempt_at <= {}"
            " ORDER BY r.event_id LIMIT {}",
            name,
            utcnow(),
            self.options.batch_size,
        )
        return [_retry_from(row) for row in rows]

    async def _waiting_after(self, name: str, key: str, event_id: int) -> list[_Retry]:
        rows = await DeliveryRetry.raw(
            'SELECT r.id AS retry_id, r.event_id, r."key" AS retry_key, r.attempts,'
            f" {_EVENT_COLUMNS} FROM rapport_delivery_retry r"
            " LEFT JOIN rapport_outbox o ON o.id = r.event_id"
            " WHERE r.consumer = {} AND r.\"key\" = {} AND r.status = 'waiting'"
            " AND r.event_id > {} ORDER BY r.event_id LIMIT {}",
            name,
            key,
            event_id,
            self.options.batch_size,
        )
        return [_retry_from(row) for row in rows]

    async def _blocked_keys(self, name: str, keys: set[str]) -> set[str]:
        if not keys:
            return set()
        key_test, key_args = in_list('"key"', sorted(keys))
        rows = await DeliveryRetry.raw(
            'SELECT DISTINCT "key" FROM rapport_delivery_retry WHERE consumer = {}'
            f" AND status IN ('pending', 'waiting') AND {key_test}",
            name,
            *key_args,
        )
        return {row["key"] for row in rows}

    async def _retry_heads(
        self,
        consumer: Consumer,
        heads: list[_Retry],
        stats: DeliveryStats,
        deadline: float,
        watchdog: Watchdog,
    ) -> None:
        """Attempt each due head and, while they go through, the events waiting behind it."""
        writes = _RetryWrites()
        for head in heads:
            if time.monotonic() >= deadline:
                break
            await self._retry_chain(consumer, head, writes, stats, deadline, watchdog)
        async with transaction():
            if writes.deletes:
                id_test, id_args = in_list("id", writes.deletes)
                await DeliveryRetry.raw(
                    f"DELETE FROM rapport_delivery_retry WHERE {id_test}", *id_args
                )
            for retry_id, status, attempts, next_at, error in writes.updates:
                await DeliveryRetry.raw(
                    "UPDATE rapport_delivery_retry SET status = {}, attempts = {},"
                    " next_attempt_at = {}, last_error = {} WHERE id = {}",
                    status,
                    attempts,
                    next_at,
                    error,
                    retry_id,
                )
            await self._renew(consumer.name, None)

    async def _retry_chain(
        self,
        consumer: Consumer,
        head: _Retry,
        writes: _RetryWrites,
        stats: DeliveryStats,
        deadline: float,
        watchdog: Watchdog,
    ) -> None:
        queue = [head]
        while queue:
            retry = queue.pop(0)
            if retry is not head and time.monotonic() >= deadline:
                # Out of time: the next in line becomes the key's head, due at once.
                writes.updates.append((retry.id, PENDING, retry.attempts, utcnow(), ""))
                return
            error = await attempt(consumer, retry.event, watchdog)
            if error is None:
                writes.deletes.append(retry.id)
                stats.delivered += 1
            elif retry.attempts + 1 < consumer.max_attempts:
                attempts = retry.attempts + 1
                next_at = utcnow() + backoff(attempts, self.options, consumer)
                writes.updates.append((retry.id, PENDING, attempts, next_at, error))
                stats.failed += 1
                return
            else:
                self._bury(consumer, retry.event_id, retry.key, retry.attempts + 1, error)
                writes.updates.append((retry.id, DEAD, retry.attempts + 1, utcnow(), error))
                stats.dead += 1
            if retry.key and not queue:
                queue = await self._waiting_after(consumer.name, retry.key, retry.event_id)

    def _bury(self, consumer: Consumer, event_id: int, key: str, attempts: int, error: str) -> None:
        log.error(
            "consumer %r gave up on outbox event %s (key %r) after %s attempts: %s",
            consumer.name,
            event_id,
            key,
            attempts,
            error.strip().splitlines()[-1] if error.strip() else error,
        )

    async def _insert_retries(
        self, name: str, retries: list[tuple[int, str, int, dt.datetime, str, str]]
    ) -> None:
        values = ", ".join("({}, {}, {}, {}, {}, {}, {})" for _ in retries)
        args: list[Any] = []
        for event_id, key, attempts, next_at, error, status in retries:
            args.extend([name, event_id, key, attempts, next_at, error, status])
        await DeliveryRetry.raw(
            'INSERT INTO rapport_delivery_retry (consumer, event_id, "key", attempts,'
            f" next_attempt_at, last_error, status) VALUES {values}",
            *args,
        )
