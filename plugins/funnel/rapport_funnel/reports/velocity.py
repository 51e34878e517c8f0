"""Velocity: how long deals created in the period spend in each working stage, and where
open deals stall now.

Average days = the time all deals spent in the stage (every stay, a second visit included)
divided by the number of distinct deals that stayed there; stays still running are not
counted. "Stalled now" counts open deals idle in the stage longer than its rotting threshold.

The stays come from the stage summary (finished stays and their seconds per deal and stage,
see ``rapport_funnel.stage_summary``); the open deals from the deals' board index.
"""

from __future__ import annotations

import datetime as dt

from rapport.api import gettext as _

from rapport_funnel.deals import now
from rapport_funnel.pipelines import stages_of
from rapport_funnel.reports.base import Bar, Report, ReportFilters, deal_filter
from rapport_funnel.reports.summary import StageTotals, stage_totals
from rapport_funnel.tables import IN_PROGRESS, FunnelDeal

DAY = 86400


async def build(filters: ReportFilters) -> Report:
    report = Report(
        key="velocity",
        title=_("Velocity"),
        columns=[_("Stage"), _("Deals"), _("Average days"), _("Open now"), _("Stalled now")],
    )
    if filters.pipeline_id is None:
        report.notes.append(_("Pick a pipeline."))
        return report
    open_where, open_args = deal_filter(filters)
    stages = [s for s in await stages_of(filters.pipeline_id) if s["semantic"] == IN_PROGRESS]
    totals = await stage_totals(filters, [s["id"] for s in stages])
    stalled = await _stalled(stages, open_where, open_args)
    for stage in stages:
        counts = totals.get(stage["id"], StageTotals())
        deals = counts.stayed
        days = round(counts.seconds / DAY / deals, 2) if deals else None
        open_count, stalled_count = stalled.get(stage["id"], (0, 0))
        report.rows.append([stage["name"], deals, days, open_count, stalled_count])
        report.bars.append(Bar(stage["name"], days or 0, f"{days or 0}"))
    return report


async def _stalled(
    stages: list[dict], where: str, args: list
) -> dict[int, tuple[int, int]]:
    """Per stage: open deals now, and those idle longer than the stage's threshold. One
    grouped query: the threshold becomes a per-stage cut-off time."""
    moment = now()
    result: dict[int, tuple[int, int]] = {}
    if not stages:
        return result
    cases = []
    case_args: list = []
    for stage in stages:
        if stage["idle_days"] is not None:
            cases.append("WHEN d.stage_id = {} AND d.stage_entered_at < {} THEN 1")
            case_args.extend([stage["id"], moment - dt.timedelta(days=stage["idle_days"])])
    stalled_sql = f"CASE {' '.join(cases)} ELSE 0 END" if cases else "0"
    rows = await FunnelDeal.raw(
        f"SELECT d.stage_id AS stage_id, COUNT(*) AS n, SUM({stalled_sql}) AS stalled"
        f" FROM funnel_deal d WHERE d.status = 'open' AND {where} GROUP BY d.stage_id",
        *case_args, *args,
    )
    for row in rows:
        result[row["stage_id"]] = (int(row["n"]), int(row["stalled"] or 0))
    return result
