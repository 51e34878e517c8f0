"""Feeding the outbox to asynchronous consumers: at least once, in order per event key.

Each consumer has a cursor (the last outbox id it is past) in ``rapport_consumer_cursor``. A
pass over one consumer:

1. **Retries.** Rows of ``rapport_delivery_retry`` in status ``pending`` whose
   ``next_attempt_at`` has come are attempted, oldest event first. Success deletes the row and
   goes straight on with the events of the same key that were ``waiting`` behind it; failure
   counts the attempt and pushes the next one back (doubling, capped); at ``max_attempts`` the
   row turns ``dead`` (logged as an error) and its key flows again.
2. **New events**, a batch at a time, from the cursor in id order. An event whose key has a
   pending or waiting row is not attempted: it is stored ``waiting`` behind it, which keeps
   the key's order while other keys flow. A failed event is stored ``pending`` and blocks its
   key. Each batch ends with one transaction that stores its retry rows and moves the cursor;
   if the process dies before that, the batch is delivered again (at least once).

Handlers run outside any database transaction, so a slow webhook never holds SQLite's write
lock. Two workers never feed the same consumer at once: the one that delivers holds a lease on
the cursor row, renewed with every commit and fenced (a worker that lost its lease cannot move
the cursor), and renewed by the worker's heartbeat while a slow handler runs. A worker that
died leaves its lease to expire.

On PostgreSQL outbox ids are taken from a sequence when rows are inserted, so a transaction
can commit id 11 while id 10 is still in flight; reading past the hole would lose event 10.
A consumer therefore stops at a hole in the ids until the *horizon* (an id up to which every
transaction that took an id has finished, established from a snapshot of running
transactions) passes it; holes left by rolled-back transactions clear within a second or so.
SQLite lets one writer in at a time, so its ids commit in order and no such wait is needed.

A consumer seen for the first time starts from the event that recorded its plugin being
enabled (from the beginning of the outbox for the core's own consumers), so enabling a webhook
plugin does not replay years of history, and events published before the worker first runs
are not missed either.

The passes live here; the cursor and its lease in :mod:`rapport.events.delivery_leases`, the
retry rows in :mod:`rapport.events.delivery_retries`, one handler call under its time-out in
:mod:`rapport.events.delivery_attempts`, the options and counts in
:mod:`rapport.events.delivery_counts`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
import os
import secrets
import socket
import time
from typing import Any

from rapport.db.current import is_sqlite
from rapport.db.transaction import transaction
from rapport.events.consumers import Consumer
from rapport.events.delivery_attempts import Watchdog, attempt, attempt_batch
from rapport.events.delivery_counts import DEFAULTS, DeliveryOptions, DeliveryStats
from rapport.events.delivery_leases import CursorLeases, LeaseLost, utcnow
from rapport.events.delivery_retries import (
    DEAD,
    PENDING,
    WAITING,
    RetryBookkeeping,
    backoff,
)
from rapport.events.horizon import Horizon
from rapport.events.tables import OutboxEvent

log = logging.getLogger("rapport.events.delivery")

__all__ = [
    "DEFAULTS",
    "Delivery",
    "DeliveryOptions",
    "DeliveryStats",
    "LeaseLost",
    "declared_consumers",
    "default_worker_name",
    "deliver_all",
]


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def declared_consumers(registry: Any) -> list[tuple[str, Consumer]]:
    """(plugin name, consumer) for every enabled plugin's consumers; names must be unique.

    An implementation may be async (the core's webhook subscriptions are read from the
    database on each pass)."""
    found: dict[str, tuple[str, Consumer]] = {}
    for impl in registry.impls("register_event_consumers"):
        try:
            items = impl.function()
            if inspect.isawaitable(items):
                items = await items
            items = items or []
        except Exception:
            log.exception("register_event_consumers of plugin %r failed", impl.plugin_name)
            continue
        for consumer in items:
            if consumer.name in found:
                log.error(
                    "consumer %r of plugin %r has the name of one of plugin %r; ignored",
                    consumer.name,
                    impl.plugin_name,
                    found[consumer.name][0],
                )
                continue
            found[consumer.name] = (impl.plugin_name, consumer)
    return list(found.values())


class Delivery(CursorLeases, RetryBookkeeping):
    """What one worker process knows while delivering: its leases and the horizon."""

    def __init__(self, worker: str | None = None, options: DeliveryOptions | None = None) -> None:
        self.worker = worker or default_worker_name()
        self._options = options
        self._leases: dict[str, float] = {}  # consumer → monotonic time our lease is safe until
        self._horizon = Horizon()
        self._horizon_wanted = False
        self._turns: dict[str, asyncio.Task[DeliveryStats]] = {}  # consumer → running turn

    @property
    def options(self) -> DeliveryOptions:
        return self._options or DEFAULTS

    @property
    def waiting_for_horizon(self) -> bool:
        """Whether the last pass stopped a consumer at a hole in the outbox ids."""
        return self._horizon_wanted

    # --- passes ---------------------------------------------------------------------------

    async def run_pass(self, registry: Any, patience: float | None = None) -> DeliveryStats:
        """Give every enabled consumer one turn (concurrently); return what happened.

        With ``patience`` (the worker's loop), the pass waits at most that many seconds for
        the turns it started; a turn still running then (a receiver that hangs until its
        time-out) goes on in the background and is not started again until it ends, so one
        slow consumer does not slow the passes of the others. Its results count in the pass
        that sees it finish. Without ``patience`` every turn is awaited to its end.
        """
        consumers = await declared_consumers(registry)
        total = DeliveryStats()
        self._horizon_wanted = False
        fresh = []
        for plugin, consumer in consumers:
            if consumer.name in self._turns:
                continue  # still busy with its previous turn
            task = asyncio.create_task(
                self._guarded(plugin, consumer), name=f"rapport-delivery:{consumer.name}"
            )
            self._turns[consumer.name] = task
            fresh.append(task)
        if fresh:
            await asyncio.wait(fresh, timeout=patience)
        for name, task in list(self._turns.items()):
            if task.done():
                del self._turns[name]
                if not task.cancelled():
                    total.add(task.result())
        if self._horizon_wanted:
            await self._horizon.advance(self.options.gap_settle)
        return total

    @property
    def busy(self) -> bool:
        """Whether turns started by earlier passes are still running."""
        return bool(self._turns)

    async def stop_turns(self) -> None:
        """Cancel the turns still running (at a worker's stop) and wait for them to end."""
        turns = list(self._turns.values())
        for task in turns:
            task.cancel()
        await asyncio.gather(*turns, return_exceptions=True)
        self._turns.clear()

    async def _guarded(self, plugin: str, consumer: Consumer) -> DeliveryStats:
        try:
            return await self.deliver(consumer, plugin)
        except LeaseLost:
            log.warning("lost the lease on consumer %r to another worker", consumer.name)
            self._leases.pop(consumer.name, None)
        except Exception:
            log.exception("delivery to consumer %r failed", consumer.name)
        return DeliveryStats()

    async def deliver(self, consumer: Consumer, plugin: str = "") -> DeliveryStats:
        """One turn for one consumer: due retries, then new events until caught up or out of
        time budget."""
        stats = DeliveryStats()
        cursor = await self._cursor(consumer.name, plugin)
        if not self._may_take(cursor):
            return stats
        deadline = time.monotonic() + self.options.budget
        heads = await self._due_heads(consumer.name)
        events = await self._read_events(cursor["position"])
        if not heads and not events:
            return stats
        position = await self._hold_lease(consumer.name, cursor["position"])
        if position is None:
            return stats
        watchdog = Watchdog(self.options.handler_timeout)
        try:
            if heads:
                await self._retry_heads(consumer, heads, stats, deadline, watchdog)
            if position != cursor["position"]:
                events = await self._read_events(position)
            while events and time.monotonic() < deadline:
                usable = self._settled_prefix(position, events)
                if not usable:
                    break
                position = await self._deliver_batch(
                    consumer, usable, position, stats, deadline, watchdog
                )
                caught_up = len(events) < self.options.batch_size
                if position != usable[-1]["id"] or len(usable) < len(events) or caught_up:
                    break  # out of time, at a hole that may still fill, or at the end
                events = await self._read_events(position)
        finally:
            watchdog.close()
        return stats

    # --- reading ----------------------------------------------------------------------------

    async def _read_events(self, position: int) -> list[dict[str, Any]]:
        return await OutboxEvent.raw(
            'SELECT id, type, version, "key", payload, actor, created_at FROM rapport_outbox'
            " WHERE id > {} ORDER BY id LIMIT {}",
            position,
            self.options.batch_size,
        )

    def _settled_prefix(self, position: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows that can be delivered without passing a hole that may still fill."""
        if is_sqlite():
            return rows
        usable = []
        previous = position
        for row in rows:
            if row["id"] != previous + 1 and row["id"] - 1 > self._horizon.settled:
                self._horizon_wanted = True
                break
            usable.append(row)
            previous = row["id"]
        return usable

    # --- new events -------------------------------------------------------------------------

    async def _deliver_batch(
        self,
        consumer: Consumer,
        rows: list[dict[str, Any]],
        position: int,
        stats: DeliveryStats,
        deadline: float,
        watchdog: Watchdog,
    ) -> int:
        """Deliver ``rows`` in order, then store their retry rows and move the cursor."""
        wanted = [consumer.wants(row["type"]) for row in rows]
        keys = {row["key"] for row, want in zip(rows, wanted, strict=True) if want and row["key"]}
        blocked = await self._blocked_keys(consumer.name, keys)
        retries: list[tuple[int, str, int, dt.datetime, str, str]] = []

        async def one(row: dict[str, Any], key: str) -> None:
            error = await attempt(consumer, row, watchdog)
            if error is None:
                stats.delivered += 1
            elif consumer.max_attempts <= 1:
                self._bury(consumer, row["id"], key, 1, error)
                retries.append((row["id"], key, 1, utcnow(), error, DEAD))
                stats.dead += 1
            else:
                next_at = utcnow() + backoff(1, self.options, consumer)
                retries.append((row["id"], key, 1, next_at, error, PENDING))
                stats.failed += 1
                if key:
                    blocked.add(key)

        # A batch consumer gets runs of events, never two of one key in a run (a failure of
        # the first must be able to hold back the second); a run that fails goes one by one.
        run: list[tuple[dict[str, Any], str]] = []
        run_keys: set[str] = set()

        async def flush() -> None:
            if not run:
                return
            taken = list(run)
            run.clear()
            run_keys.clear()
            if len(taken) > 1:
                error = await attempt_batch(consumer, [row for row, _ in taken], watchdog)
                if error is None:
                    stats.delivered += len(taken)
                    return
                log.info(
                    "consumer %r: a batch of %d failed, delivering one by one: %s",
                    consumer.name,
                    len(taken),
                    error.strip().splitlines()[-1] if error.strip() else error,
                )
            for row, key in taken:
                await one(row, key)

        batching = consumer.handle_batch is not None and consumer.batch_size > 1
        for index, row in enumerate(rows):
            if index and time.monotonic() >= deadline:
                break
            if not wanted[index]:
                position = row["id"]
                stats.skipped += 1
                continue
            key = row["key"] or ""
            if key in run_keys:
                await flush()
            if key and key in blocked:
                position = row["id"]
                retries.append((row["id"], key, 0, utcnow(), "", WAITING))
                stats.waiting += 1
                continue
            if batching:
                run.append((row, key))
                if key:
                    run_keys.add(key)
                position = row["id"]
                if len(run) >= consumer.batch_size:
                    await flush()
                continue
            position = row["id"]
            await one(row, key)
        await flush()
        async with transaction():
            if retries:
                await self._insert_retries(consumer.name, retries)
            await self._renew(consumer.name, position)
        return position


async def deliver_all(
    registry: Any, delivery: Delivery, *, max_passes: int = 10_000, max_wait: float = 5.0
) -> DeliveryStats:
    """Pass after pass until no consumer makes progress (tests, ``rapport worker --once``)."""
    total = DeliveryStats()
    give_up = time.monotonic() + max_wait
    for _ in range(max_passes):
        stats = await delivery.run_pass(registry)
        total.add(stats)
        if stats.progressed:
            continue
        if not delivery.waiting_for_horizon or time.monotonic() >= give_up:
            break
        await asyncio.sleep(0.05)  # a hole in the ids may still fill (PostgreSQL)
    return total
