"""Funnel conversion for the deals created in the period (a cohort).

Per working stage: how many deals entered it, how many moved on to a later stage, and how
many *reached* it — were ever there or further along, or are won. Distinct deals are counted,
so a deal moved backwards and forwards again counts once, and a deal re-opened after a loss
counts by where it went. Stage-to-stage conversion is reached(next) / reached(this); overall
conversion is won / reached(first stage).
"""

from __future__ import annotations

from rapport.api import gettext as _

from rapport_funnel.pipelines import stages_of
from rapport_funnel.reports.base import Bar, Report, ReportFilters, deal_filter, percent
from rapport_funnel.tables import IN_PROGRESS, WON_SORT, FunnelDeal


async def build(filters: ReportFilters) -> Report:
    report = Report(
        key="conversion",
        title=_("Funnel conversion"),
        columns=[_("Stage"), _("Entered"), _("Moved on"), _("Reached"),
                 _("Conversion to next, %"), _("From first stage, %")],
    )
    if filters.pipeline_id is None:
        report.notes.append(_("Pick a pipeline."))
        return report
    where, args = deal_filter(filters, created_in_period=True)
    entered = await FunnelDeal.raw(
        "SELECT h.to_stage_id AS stage_id, COUNT(DISTINCT h.deal_id) AS n"
        " FROM funnel_stage_history h JOIN funnel_deal d ON d.id = h.deal_id"
        f" WHERE {where} GROUP BY h.to_stage_id",
        *args,
    )
    moved = await FunnelDeal.raw(
        "SELECT h.from_stage_id AS stage_id, COUNT(DISTINCT h.deal_id) AS n"
        " FROM funnel_stage_history h JOIN funnel_deal d ON d.id = h.deal_id"
        " JOIN funnel_stage sf ON sf.id = h.from_stage_id"
        " JOIN funnel_stage st ON st.id = h.to_stage_id"
        f" WHERE st.sort > sf.sort AND st.semantic <> 'lost' AND {where}"
        " GROUP BY h.from_stage_id",
        *args,
    )
    tops = await FunnelDeal.raw(
        "SELECT t.top AS top, COUNT(*) AS n FROM ("
        f" SELECT d.id AS id, CASE WHEN d.status = 'won' THEN {WON_SORT} ELSE MAX(s.sort) END"
        " AS top FROM funnel_deal d"
        " JOIN funnel_stage_history h ON h.deal_id = d.id"
        " LEFT JOIN funnel_stage s ON s.id = h.to_stage_id AND s.semantic = 'in_progress'"
        f" WHERE {where} GROUP BY d.id, d.status) t GROUP BY t.top",
        *args,
    )
    entered_by = {r["stage_id"]: int(r["n"]) for r in entered}
    moved_by = {r["stage_id"]: int(r["n"]) for r in moved}
    stages = [s for s in await stages_of(filters.pipeline_id) if s["semantic"] != "lost"]

    def reached(sort: int) -> int:
        return sum(int(r["n"]) for r in tops if r["top"] is not None and int(r["top"]) >= sort)

    first = reached(stages[0]["sort"]) if stages else 0
    for index, stage in enumerate(stages):
        here = reached(stage["sort"])
        following = stages[index + 1] if index + 1 < len(stages) else None
        to_next = percent(reached(following["sort"]), here) if following else None
        report.rows.append([
            stage["name"],
            entered_by.get(stage["id"], 0),
            moved_by.get(stage["id"], 0) if stage["semantic"] == IN_PROGRESS else None,
            here,
            to_next,
            percent(here, first),
        ])
        report.bars.append(Bar(stage["name"], here, f"{here} ({percent(here, first) or 0}%)"))
    return report
