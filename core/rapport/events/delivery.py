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
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import logging
import os
import secrets
import socket
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapport.db.current import is_sqlite
from rapport.db.transaction import transaction
from rapport.events.bus import event_from_row
from rapport.events.consumers import Consumer
from rapport.events.horizon import Horizon
from rapport.events.tables import ConsumerCursor, DeliveryRetry, OutboxEvent

log = logging.getLogger("rapport.events.delivery")

ERROR_LIMIT = 4000
PENDING, WAITING, DEAD = "pending", "waiting", "dead"
_EVENT_COLUMNS = 'o.id, o.type, o.version, o."key", o.payload, o.actor, o.created_at'


@dataclass(frozen=True)
class DeliveryOptions:
    batch_size: int = 200  # outbox rows read, and committed, at a time
    budget: float = 2.0  # seconds one consumer may deliver before its progress is committed
    backoff_base: float = 5.0  # seconds before the second attempt; doubles per failure
    backoff_cap: float = 3600.0
    lease_seconds: float = 30.0  # how long a dead worker keeps a consumer from others
    handler_timeout: float = 120.0  # a handler that hangs longer counts as failed
    gap_settle: float = 0.5  # PostgreSQL: see rapport.events.horizon


DEFAULTS = DeliveryOptions()


@dataclass
class DeliveryStats:
    delivered: int = 0  # successful handler calls
    failed: int = 0  # failed attempts that will be retried
    dead: int = 0  # events given up on
    waiting: int = 0  # events stored behind an earlier failure of their key
    skipped: int = 0  # events the consumer does not want

    def add(self, other: DeliveryStats) -> None:
        for name in ("delivered", "failed", "dead", "waiting", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def progressed(self) -> bool:
        return bool(self.delivered or self.failed or self.dead or self.waiting or self.skipped)


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


class LeaseLost(Exception):
    """Another worker took this consumer over (ours expired): progress is not recorded."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


def _backoff(attempts: int, options: DeliveryOptions, consumer: Consumer) -> dt.timedelta:
    base = options.backoff_base if consumer.backoff_base is None else consumer.backoff_base
    cap = options.backoff_cap if consumer.backoff_cap is None else consumer.backoff_cap
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _short_error(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc, limit=-8))
    return text[-ERROR_LIMIT:]


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _in_list(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    if is_sqlite():
        return f"{column} IN ({', '.join('{}' for _ in values)})", list(values)
    return f"{column} = ANY({{}})", [list(values)]


class _Watchdog:
    """Cancels a handler that runs past the time-out: one timer for many events.

    ``asyncio.timeout`` per event would cost more than a trivial handler itself; this keeps
    one timer armed at the current handler's deadline and moves it only when it fires.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._fired = False
        self._baseline = self._task.cancelling() if self._task is not None else 0

    def arm(self) -> None:
        self._deadline = self._loop.time() + self.timeout
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._check)

    def disarm(self) -> bool:
        """Stop watching; True if the watchdog had cancelled the handler (cancel withdrawn)."""
        self._deadline = None
        if not self._fired:
            return False
        self._fired = False
        if self._task is not None:
            self._task.uncancel()
        return True

    def cancelled_from_outside(self) -> bool:
        """Whether someone else (a worker stopping) cancelled the task too."""
        return self._task is not None and self._task.cancelling() > self._baseline

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self._deadline is None:
            return  # between handlers: the next arm() sets a timer again
        if self._loop.time() >= self._deadline and self._task is not None:
            self._fired = True
            self._task.cancel()
            return
        self._timer = self._loop.call_at(self._deadline, self._check)


async def _attempt(
    consumer: Consumer, row: dict[str, Any] | None, watchdog: _Watchdog
) -> str | None:
    """Hand one outbox row to ``consumer``; the error text if it failed, else None."""
    if row is None:
        return "the event is no longer in the outbox"
    try:
        event, meta = event_from_row(row)
    except Exception as exc:  # noqa: BLE001 - a payload that no longer fits: a failed attempt
        return _short_error(exc)
    timed_out = f"timed out after {watchdog.timeout:g}s"
    watchdog.arm()
    try:
        result = consumer.handle(event, meta)
        if inspect.isawaitable(result):
            await result
    except asyncio.CancelledError:
        if watchdog.disarm() and not watchdog.cancelled_from_outside():
            return timed_out
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a handler raises is a failed attempt
        return timed_out if watchdog.disarm() else _short_error(exc)
    return timed_out if watchdog.disarm() else None


class Delivery:
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
        watchdog = _Watchdog(self.options.handler_timeout)
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

    async def heartbeat(self) -> None:
        """Renew every lease this worker holds, so one slow handler does not lose it.

        The worker calls this every third of ``lease_seconds``; a worker that dies stops
        renewing, and its consumers pass to another worker when the leases run out.
        """
        started = time.monotonic()
        rows = await ConsumerCursor.raw(
            "UPDATE rapport_consumer_cursor SET locked_until = {} WHERE locked_by = {}"
            " RETURNING consumer",
            utcnow() + dt.timedelta(seconds=self.options.lease_seconds),
            self.worker,
        )
        held = {row["consumer"] for row in rows}
        self._leases = {name: started + self.options.lease_seconds - 1.0 for name in held}

    async def release_leases(self) -> None:
        """Let other workers take this worker's consumers at once (at a clean stop)."""
        self._leases.clear()
        await ConsumerCursor.raw(
            "UPDATE rapport_consumer_cursor SET locked_by = '', locked_until = NULL"
            " WHERE locked_by = {}",
            self.worker,
        )

    # --- cursor and lease -------------------------------------------------------------------

    async def _cursor(self, name: str, plugin: str) -> dict[str, Any]:
        sql = (
            'SELECT "position", locked_by, locked_until FROM rapport_consumer_cursor'
            " WHERE consumer = {}"
        )
        rows = await ConsumerCursor.raw(sql, name)
        if not rows:
            start = await self._initial_position(plugin)
            await ConsumerCursor.raw(
                'INSERT INTO rapport_consumer_cursor (consumer, "position", updated_at,'
                " locked_by, locked_until) VALUES ({}, {}, {}, '', NULL) ON CONFLICT DO NOTHING",
                name,
                start,
                utcnow(),
            )
            log.info("consumer %r starts after outbox event %s", name, start)
            rows = await ConsumerCursor.raw(sql, name)
        return rows[0]

    async def _initial_position(self, plugin: str) -> int:
        """Just before the event that enabled ``plugin``; 0 for the core and unknown plugins."""
        from rapport.runtime import current

        if plugin not in current().plugins.installed:
            return 0
        rows = await OutboxEvent.raw(
            "SELECT id, payload FROM rapport_outbox WHERE type = 'plugin.enabled'"
            " ORDER BY id DESC LIMIT 100"
        )
        for row in rows:
            payload = row["payload"]
            payload = json.loads(payload) if isinstance(payload, str) else payload
            if payload.get("name") == plugin:
                return int(row["id"]) - 1
        return 0

    def _may_take(self, cursor: dict[str, Any]) -> bool:
        holder = cursor["locked_by"]
        until = _as_datetime(cursor["locked_until"])
        return not holder or holder == self.worker or until is None or until < utcnow()

    async def _hold_lease(self, name: str, position: int) -> int | None:
        """Make sure this worker holds the consumer; the cursor position, or None if not."""
        margin = self.options.budget + 1.0
        if self._leases.get(name, 0.0) > time.monotonic() + margin:
            return position
        now = utcnow()
        rows = await ConsumerCursor.raw(
            "UPDATE rapport_consumer_cursor SET locked_by = {}, locked_until = {}"
            " WHERE consumer = {} AND (locked_by = {} OR locked_by = ''"
            ' OR locked_until IS NULL OR locked_until < {}) RETURNING "position"',
            self.worker,
            now + dt.timedelta(seconds=self.options.lease_seconds),
            name,
            self.worker,
            now,
        )
        if not rows:
            self._leases.pop(name, None)
            return None
        self._note_lease(name)
        return int(rows[0]["position"])

    def _note_lease(self, name: str) -> None:
        # Counted from before the write, so our idea of the lease never outlives the row's.
        self._leases[name] = time.monotonic() + self.options.lease_seconds - 1.0

    async def _renew(self, name: str, position: int | None) -> None:
        """Inside the batch's transaction: renew the lease (and move the cursor), fenced."""
        now = utcnow()
        until = now + dt.timedelta(seconds=self.options.lease_seconds)
        if position is None:
            rows = await ConsumerCursor.raw(
                "UPDATE rapport_consumer_cursor SET locked_until = {}"
                " WHERE consumer = {} AND locked_by = {} RETURNING id",
                until,
                name,
                self.worker,
            )
        else:
            rows = await ConsumerCursor.raw(
                'UPDATE rapport_consumer_cursor SET "position" = {}, updated_at = {},'
                " locked_until = {} WHERE consumer = {} AND locked_by = {} RETURNING id",
                position,
                now,
                until,
                name,
                self.worker,
            )
        if not rows:
            raise LeaseLost(name)
        self._note_lease(name)

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
        key_test, key_args = _in_list('"key"', sorted(keys))
        rows = await DeliveryRetry.raw(
            'SELECT DISTINCT "key" FROM rapport_delivery_retry WHERE consumer = {}'
            f" AND status IN ('pending', 'waiting') AND {key_test}",
            name,
            *key_args,
        )
        return {row["key"] for row in rows}

    # --- retries ----------------------------------------------------------------------------

    async def _retry_heads(
        self,
        consumer: Consumer,
        heads: list[_Retry],
        stats: DeliveryStats,
        deadline: float,
        watchdog: _Watchdog,
    ) -> None:
        """Attempt each due head and, while they go through, the events waiting behind it."""
        writes = _RetryWrites()
        for head in heads:
            if time.monotonic() >= deadline:
                break
            await self._retry_chain(consumer, head, writes, stats, deadline, watchdog)
        async with transaction():
            if writes.deletes:
                id_test, id_args = _in_list("id", writes.deletes)
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
        watchdog: _Watchdog,
    ) -> None:
        queue = [head]
        while queue:
            retry = queue.pop(0)
            if retry is not head and time.monotonic() >= deadline:
                # Out of time: the next in line becomes the key's head, due at once.
                writes.updates.append((retry.id, PENDING, retry.attempts, utcnow(), ""))
                return
            error = await _attempt(consumer, retry.event, watchdog)
            if error is None:
                writes.deletes.append(retry.id)
                stats.delivered += 1
            elif retry.attempts + 1 < consumer.max_attempts:
                attempts = retry.attempts + 1
                next_at = utcnow() + _backoff(attempts, self.options, consumer)
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

    # --- new events -------------------------------------------------------------------------

    async def _deliver_batch(
        self,
        consumer: Consumer,
        rows: list[dict[str, Any]],
        position: int,
        stats: DeliveryStats,
        deadline: float,
        watchdog: _Watchdog,
    ) -> int:
        """Deliver ``rows`` in order, then store their retry rows and move the cursor."""
        wanted = [consumer.wants(row["type"]) for row in rows]
        keys = {row["key"] for row, want in zip(rows, wanted, strict=True) if want and row["key"]}
        blocked = await self._blocked_keys(consumer.name, keys)
        retries: list[tuple[int, str, int, dt.datetime, str, str]] = []
        for index, row in enumerate(rows):
            if index and time.monotonic() >= deadline:
                break
            position = row["id"]
            if not wanted[index]:
                stats.skipped += 1
                continue
            key = row["key"] or ""
            if key and key in blocked:
                retries.append((row["id"], key, 0, utcnow(), "", WAITING))
                stats.waiting += 1
                continue
            error = await _attempt(consumer, row, watchdog)
            if error is None:
                stats.delivered += 1
            elif consumer.max_attempts <= 1:
                self._bury(consumer, row["id"], key, 1, error)
                retries.append((row["id"], key, 1, utcnow(), error, DEAD))
                stats.dead += 1
            else:
                next_at = utcnow() + _backoff(1, self.options, consumer)
                retries.append((row["id"], key, 1, next_at, error, PENDING))
                stats.failed += 1
                if key:
                    blocked.add(key)
        async with transaction():
            if retries:
                await self._insert_retries(consumer.name, retries)
            await self._renew(consumer.name, position)
        return position

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


def _retry_from(row: dict[str, Any]) -> _Retry:
    event = None if row.get("id") is None else row
    return _Retry(row["retry_id"], row["event_id"], row["retry_key"], row["attempts"], event)


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
