"""The reports' summary of the stage history, and how it is kept.

Two tables, both derived from ``funnel_stage_history`` and ``funnel_deal``:

- ``funnel_deal_stage``: one row per deal and stage it entered, holding what the cohort
  reports count — how many stays the deal had there (how many finished, how long they took),
  whether it moved on from there to a later stage, and whether this is its *furthest* stage
  (the furthest working stage it entered, or its Won stage while it is won). The deal's
  pipeline, owner, source and creation time (and creation day, UTC) are copied onto the row.
- ``funnel_stage_daily``: those rows added up per pipeline, stage, creation day and source.
  A report over whole days without an owner filter reads a few rows per day from here
  instead of one per deal; with an owner filter it reads that owner's deal rows.

Invariants: the rows of a deal in ``funnel_deal_stage`` are exactly what :func:`rebuild_sql`
computes from the deal's history and its current row, and every ``funnel_stage_daily`` row is
the sum of the deal rows with its key (rows that fell to zero may stay). Every write that
changes a deal's history, status, owner, source or pipeline calls :func:`refresh` inside its
own transaction (``rapport_funnel.deals`` is the only place that writes deals); the
migration ``funnel_0004_stage_summary`` and the benchmark's generator build both tables with
the same statements. "Later" and "furthest" compare the stages' sort keys, which never change
once a stage exists; timestamps are stored in UTC, so a creation day is the first ten
characters of the stored time on SQLite.
"""

from __future__ import annotations

from rapport.api import Statement

from rapport_funnel.tables import FunnelDealStage

COLUMNS = (
    "deal_id, stage_id, pipeline_id, owner_id, source, created_at, created_day,"
    " first_entered_at, visits, stays_done, seconds, moved_on, furthest"
)

# The creation day (UTC) as 'YYYY-MM-DD', per engine.
DAY_SQL = {
    "sqlite": "substr(d.created_at, 1, 10)",
    "postgres": "to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}

# ``WHERE_DEAL`` is removed for a full build, or becomes a condition on one deal.
_SELECT = (
    "SELECT h.deal_id, h.to_stage_id, d.pipeline_id, d.owner_id, d.source, d.created_at,"
    " DAY_SQL, MIN(h.entered_at), COUNT(*),"
    " SUM(CASE WHEN h.left_at IS NOT NULL THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN h.left_at IS NOT NULL THEN COALESCE(h.seconds_in_stage, 0) ELSE 0 END),"
    # Moved on: some stay here ended by a move to a stage further along that is not Lost.
    " CASE WHEN EXISTS (SELECT 1 FROM funnel_stage_history m"
    " JOIN funnel_stage sf ON sf.id = m.from_stage_id"
    " JOIN funnel_stage st ON st.id = m.to_stage_id"
    " WHERE m.deal_id = h.deal_id AND m.from_stage_id = h.to_stage_id"
    " AND st.sort > sf.sort AND st.semantic <> 'lost') THEN 1 ELSE 0 END,"
    # Furthest: a won deal's current (Won) stage; else the working stage with the highest
    # sort key it ever entered (one row per deal, the lower id on a tie).
    " CASE WHEN d.status = 'won' THEN"
    " (CASE WHEN h.to_stage_id = d.stage_id THEN 1 ELSE 0 END)"
    " WHEN s.semantic = 'in_progress' AND s.id = (SELECT s2.id FROM funnel_stage_history h2"
    " JOIN funnel_stage s2 ON s2.id = h2.to_stage_id"
    " WHERE h2.deal_id = h.deal_id AND s2.semantic = 'in_progress'"
    " ORDER BY s2.sort DESC, s2.id LIMIT 1) THEN 1 ELSE 0 END"
    " FROM funnel_stage_history h JOIN funnel_deal d ON d.id = h.deal_id"
    " JOIN funnel_stage s ON s.id = h.to_stage_id WHERE_DEAL"
    " GROUP BY h.deal_id, h.to_stage_id, d.pipeline_id, d.owner_id, d.source, d.created_at,"
    " d.status, d.stage_id, s.id, s.semantic"
)

DAILY_COLUMNS = (
    "pipeline_id, stage_id, created_day, source, entered, moved_on, furthest, stayed, seconds"
)

DAILY_REBUILD_SQL = (
    f"INSERT INTO funnel_stage_daily ({DAILY_COLUMNS})"
    " SELECT pipeline_id, stage_id, created_day, source, COUNT(*), SUM(moved_on),"
    " SUM(furthest), SUM(CASE WHEN stays_done > 0 THEN 1 ELSE 0 END), SUM(seconds)"
    " FROM funnel_deal_stage GROUP BY pipeline_id, stage_id, created_day, source"
)
"""The daily sums from every deal's rows (after :func:`rebuild_sql`)."""

# One deal's rows added to (SIGN 1) or taken from (SIGN -1) the daily sums. In stage order,
# so concurrent transactions on PostgreSQL lock shared daily rows in the same order.
_DAILY_APPLY_SQL = (
    f"INSERT INTO funnel_stage_daily ({DAILY_COLUMNS})"
    " SELECT pipeline_id, stage_id, created_day, source, SIGN, SIGN * moved_on,"
    " SIGN * furthest, SIGN * (CASE WHEN stays_done > 0 THEN 1 ELSE 0 END), SIGN * seconds"
    " FROM funnel_deal_stage WHERE deal_id = {} ORDER BY stage_id"
    " ON CONFLICT (pipeline_id, stage_id, created_day, source) DO UPDATE SET"
    " entered = funnel_stage_daily.entered + excluded.entered,"
    " moved_on = funnel_stage_daily.moved_on + excluded.moved_on,"
    " furthest = funnel_stage_daily.furthest + excluded.furthest,"
    " stayed = funnel_stage_daily.stayed + excluded.stayed,"
    " seconds = funnel_stage_daily.seconds + excluded.seconds"
)
_ADD_SQL = _DAILY_APPLY_SQL.replace("SIGN", "1")
_TAKE_SQL = _DAILY_APPLY_SQL.replace("SIGN", "-1")


def _engine_type() -> str:
    kind = FunnelDealStage._meta.db.engine_type
    return "sqlite" if kind == "sqlite" else "postgres"  # CockroachDB speaks PostgreSQL here


def rebuild_sql(engine_type: str, *, one_deal: bool = False) -> str:
    """The ``INSERT … SELECT`` of the deal rows from the history: every deal's (the
    migration's backfill and the benchmark's), or one deal's (a ``{}`` parameter)."""
    where = " WHERE h.deal_id = {}" if one_deal else ""
    select = _SELECT.replace("DAY_SQL", DAY_SQL[engine_type]).replace(" WHERE_DEAL", where)
    return f"INSERT INTO funnel_deal_stage ({COLUMNS}) " + select


_STATEMENTS: dict[str, tuple[Statement, Statement, Statement, Statement]] = {}


def _statements() -> tuple[Statement, Statement, Statement, Statement]:
    """Take, delete, rebuild and add for one deal, as fixed statements of this engine."""
    kind = _engine_type()
    if kind not in _STATEMENTS:
        _STATEMENTS[kind] = (
            Statement(_TAKE_SQL),
            Statement("DELETE FROM funnel_deal_stage WHERE deal_id = {}"),
            Statement(rebuild_sql(kind, one_deal=True)),
            Statement(_ADD_SQL),
        )
    return _STATEMENTS[kind]


async def refresh(deal_id: int, *, new: bool = False) -> None:
    """Recompute one deal's summary rows from its history and its row, and move the daily
    sums with them (four statements; two for a ``new`` deal, which has no rows to take).

    Call it inside the transaction of the change, after the history and the deal are
    written, so the summary commits or rolls back with them.
    """
    take, delete, rebuild, add = _statements()
    if not new:
        await take.fetch(deal_id)
        await delete.fetch(deal_id)
    await rebuild.fetch(deal_id)
    await add.fetch(deal_id)
