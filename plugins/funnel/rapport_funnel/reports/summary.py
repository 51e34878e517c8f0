"""The cohort reports' one query: per stage, sums over the stage summary's rows.

Conversion and velocity count the deals **created in the period** (a cohort) of one
pipeline, optionally one owner's or one source's. Each reads ``funnel_deal_stage`` (one row
per deal and stage it entered, see ``rapport_funnel.stage_summary``) by its covering index:
one range of creation times per stage, so the work grows with the cohort, not the history,
and no ``COUNT(DISTINCT …)`` is needed since the rows are distinct deals already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rapport_funnel.reports.base import ReportFilters
from rapport_funnel.tables import FunnelDealStage


@dataclass
class StageTotals:
    """One stage's numbers for a cohort."""

    entered: int = 0  # deals that entered it
    moved_on: int = 0  # deals that went from it to a later stage other than Lost
    furthest: int = 0  # deals whose furthest stage it is (Won: deals won now)
    stayed: int = 0  # deals with a finished stay in it
    seconds: int = 0  # what all finished stays in it took


def cohort_sql(filters: ReportFilters, stage_ids: list[int]) -> tuple[str, list[Any]]:
    """The grouped statement over the summary for ``stage_ids`` of ``filters.pipeline_id``,
    with its arguments in Piccolo's ``{}`` style."""
    marks = ", ".join("{}" for _ in stage_ids)
    where = [
        "pipeline_id = {}",
        f"stage_id IN ({marks})",
        "created_at >= {}",
        "created_at < {}",
    ]
    args: list[Any] = [filters.pipeline_id, *stage_ids, filters.since, filters.until]
    if filters.owner_id is not None:
        where.append("owner_id = {}")
        args.append(filters.owner_id)
    if filters.source:
        where.append("source = {}")
        args.append(filters.source)
    sql = (
        "SELECT stage_id, COUNT(*) AS entered, SUM(moved_on) AS moved_on,"
        " SUM(furthest) AS furthest, SUM(CASE WHEN stays_done > 0 THEN 1 ELSE 0 END) AS stayed,"
        " SUM(seconds) AS seconds FROM funnel_deal_stage"
        f" WHERE {' AND '.join(where)} GROUP BY stage_id"
    )
    return sql, args


async def stage_totals(filters: ReportFilters, stage_ids: list[int]) -> dict[int, StageTotals]:
    """Per stage id, the cohort's totals (stages nobody entered are absent)."""
    if filters.pipeline_id is None or not stage_ids:
        return {}
    sql, args = cohort_sql(filters, sorted(set(stage_ids)))
    rows = await FunnelDealStage.raw(sql, *args)
    return {
        int(r["stage_id"]): StageTotals(
            entered=int(r["entered"]),
            moved_on=int(r["moved_on"] or 0),
            furthest=int(r["furthest"] or 0),
            stayed=int(r["stayed"] or 0),
            seconds=int(r["seconds"] or 0),
        )
        for r in rows
    }
