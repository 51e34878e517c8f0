"""The reports' summary of the stage history (``funnel_deal_stage``), and how it is kept.

One row per deal and stage it entered, holding what the cohort reports count: how many stays
the deal had there (and how many finished, and how long they took), whether it moved on from
there to a later stage, and whether this is its *furthest* stage — the furthest working stage
it entered, or its Won stage while it is won. The deal's pipeline, owner, source and creation
time are copied onto each row, so a report reads one covering index range per stage instead
of joining and de-duplicating the raw history.

Invariant: the rows of a deal are exactly what :data:`REBUILD_SQL` computes from the deal's
history and its current row. Every write that changes a deal's history, status, owner,
source or pipeline calls :func:`refresh` inside its own transaction (``rapport_funnel.deals``
is the only place that writes deals), the migration ``funnel_0004_stage_summary`` and the
benchmark's generator build all of them with the same statement. "Later stage" and
"furthest" compare the stages' sort keys, which never change once a stage exists.
"""

from __future__ import annotations

from rapport_funnel.tables import FunnelDealStage

COLUMNS = (
    "deal_id, stage_id, pipeline_id, owner_id, source, created_at, first_entered_at, visits,"
    " stays_done, seconds, moved_on, furthest"
)

# ``{where}`` is empty for a full build, or a condition on ``h.deal_id``.
_SELECT = (
    "SELECT h.deal_id, h.to_stage_id, d.pipeline_id, d.owner_id, d.source, d.created_at,"
    " MIN(h.entered_at), COUNT(*),"
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
    " JOIN funnel_stage s ON s.id = h.to_stage_id{where}"
    " GROUP BY h.deal_id, h.to_stage_id, d.pipeline_id, d.owner_id, d.source, d.created_at,"
    " d.status, d.stage_id, s.id, s.semantic"
)

REBUILD_SQL = f"INSERT INTO funnel_deal_stage ({COLUMNS}) " + _SELECT.format(where="")
"""Every deal's rows from the whole history: the migration's backfill and the benchmark's.
No parameters, so it runs as it is on SQLite, PostgreSQL and a plain ``sqlite3`` connection.
"""

_REFRESH_SQL = f"INSERT INTO funnel_deal_stage ({COLUMNS}) " + _SELECT.format(
    where=" WHERE h.deal_id = {}"
)


async def refresh(deal_id: int) -> None:
    """Recompute one deal's summary rows from its history and its row (two statements).

    Call it inside the transaction of the change, after the history and the deal are
    written, so the summary commits or rolls back with them.
    """
    await FunnelDealStage.delete().where(FunnelDealStage.deal_id == deal_id)
    await FunnelDealStage.raw(_REFRESH_SQL, deal_id)
