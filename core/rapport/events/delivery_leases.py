"""The cursor and the lease of one consumer: where it is in the outbox, and which worker may
move it.

A worker holds a consumer by writing its name and an expiry into the cursor row; the lease is
renewed with every commit of progress (fenced: a worker whose lease was taken cannot move the
cursor) and by the worker's heartbeat while a slow handler runs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

from rapport.events.tables import ConsumerCursor, OutboxEvent

log = logging.getLogger("rapport.events.delivery")


class LeaseLost(Exception):
    """Another worker took this consumer over (ours expired): progress is not recorded."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class CursorLeases:
    """The lease-keeping half of :class:`rapport.events.delivery.Delivery`.

    Expects ``worker`` (this worker's name), ``options`` (lease length, budget) and
    ``_leases`` (consumer → monotonic time our lease is safe until) on the instance.
    """

    worker: str
    options: Any
    _leases: dict[str, float]

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
        until = as_datetime(cursor["locked_until"])
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
