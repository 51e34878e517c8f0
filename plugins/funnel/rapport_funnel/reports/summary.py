"""The cohort reports' one query: per stage, sums over the stage summary.

Conversion and velocity count the deals **created in the period** (a cohort) of one
pipeline, optionally one owner's or one source's (see ``rapport_funnel.stage_summary``).
A period of whole UTC days without an owner filter — what the report pages ask — reads the
daily sums (``funnel_stage_daily``: a row per stage, day and source, so two years are a few
thousand rows whatever the number of deals). An owner filter reads that owner's rows of
``funnel_deal_stage`` (one per deal and stage it entered) by its index; any other period
reads the deal rows by creation time. No ``COUNT(DISTINCT …)`` is needed anywhere: each row
is one deal at one stage already.
"""

from __future__ import annotations

import datetime as dt
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


def _whole_day(moment: dt.datetime) -> bool:
    """A UTC midnight: the daily sums can answer from it."""
    return moment.tzinfo is not None and moment.astimezone(dt.UTC).time() == dt.time(0)


def daily_sql(filters: ReportFilters, stage_ids: list[int]) -> tuple[str, list[Any]]:
    """The grouped statement over the daily sums (whole days, no owner filter)."""
    marks = ", ".join("{}" for _ in stage_ids)
    where = ["pipeline_id = {}", f"stage_id IN ({marks})", "created_day >= {}",
             "created_day < {}"]
    args: list[Any] = [
        filters.pipeline_id, *stage_ids,
        filters.since.astimezone(dt.UTC).date().isoformat(),
        filters.until.astimezone(dt.UTC).date().isoformat(),
    ]
    if filters.source:
        where.append("source = {}")
        args.append(filters.source)
    sql = (
        "SELECT stage_id, SUM(entered) AS entered, SUM(moved_on) AS moved_on,"
        " SUM(furthest) AS furthest, SUM(stayed) AS stayed, SUM(seconds) AS seconds"
        f" FROM funnel_stage_daily WHERE {' AND '.join(where)} GROUP BY stage_id"
    )
    return sql, args


def cohort_sql(filters: ReportFilters, stage_ids: list[int]) -> tuple[str, list[Any]]:
    """The grouped statement over the deal rows for ``stage_ids`` of
    ``filters.pipeline_id``, with its arguments in Piccolo's ``{}`` style."""
    marks = ", ".join("{}" for _ in stage_ids)
    where = ["pipeline_id = {}"]
    args: list[Any] = [filters.pipeline_id]
    if filters.owner_id is not None:  # first, as in the owner index
        where.append("owner_id = {}")
        args.append(filters.owner_id)
    where += [f"stage_id IN ({marks})", "created_at >= {}", "created_at < {}"]
    args += [*stage_ids, filters.since, filters.until]
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
    ids = sorted(set(stage_ids))
    if filters.owner_id is None and _whole_day(filters.since) and _whole_day(filters.until):
        sql, args = daily_sql(filters, ids)
    else:
        sql, args = cohort_sql(filters, ids)
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


SOURCES_SQL = (
    "SELECT DISTINCT source FROM funnel_stage_daily"
    " WHERE pipeline_id = {} AND source <> '' AND entered > 0 ORDER BY source"
)


async def sources_of(pipeline_id: int) -> list[str]:
    """The sources the pipeline's deals came from, for the reports' filter: the same list
    as from the deals (every deal has a summary row, and a daily sum with deals in it is a
    source some deal has now), read from the daily sums' index instead of every deal."""
    rows = await FunnelDealStage.raw(SOURCES_SQL, pipeline_id)
    return [r["source"] for r in rows]
