"""How far the outbox can be read on PostgreSQL without skipping an event still being written.

Ids come from a sequence, so a transaction can commit id 11 while id 10 is still in flight;
a reader that moved past 11 would never see 10. Consumers stop at such a hole until the
horizon passes it.
"""

from __future__ import annotations

import time

from rapport.events.tables import OutboxEvent


class Horizon:
    """PostgreSQL: the outbox id up to which no transaction can still add a row.

    A probe notes the highest id present, waits ``gap_settle`` (so every transaction that had
    drawn an id by then has also been given a transaction id), takes a snapshot of the running
    transactions, and completes once none of them is still running: from then on every id up
    to the noted one is either visible or never will be.
    """

    def __init__(self) -> None:
        self.settled = 0
        self._probe_id: int | None = None
        self._probe_started = 0.0
        self._snapshot: str | None = None

    async def advance(self, settle: float) -> None:
        if self._probe_id is None:
            rows = await OutboxEvent.raw("SELECT max(id) AS last FROM rapport_outbox")
            self._probe_id = rows[0]["last"] or 0
            self._probe_started = time.monotonic()
            self._snapshot = None
        if self._snapshot is None:
            if time.monotonic() - self._probe_started < settle:
                return
            rows = await OutboxEvent.raw("SELECT pg_current_snapshot()::text AS snapshot")
            self._snapshot = rows[0]["snapshot"]
        # Only transactions of this database can add outbox rows: a long transaction in
        # another database of the same server must not hold delivery up. (Writers of the
        # outbox run as the application's own role, whose sessions it can always see.)
        rows = await OutboxEvent.raw(
            "SELECT count(*) AS running FROM pg_snapshot_xip({}::text::pg_snapshot) AS x"
            " WHERE pg_xact_status(x) = 'in progress' AND EXISTS ("
            " SELECT 1 FROM pg_stat_activity AS a"
            " WHERE a.datname = current_database()"
            " AND a.backend_xid::text::bigint = x::text::bigint % 4294967296)",
            self._snapshot,
        )
        if rows[0]["running"] == 0:
            self.settled = max(self.settled, self._probe_id)
            self._probe_id = None
