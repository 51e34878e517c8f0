"""Funnel conversion for the deals created in the period (a cohort).

Per working stage: how many deals entered it, how many moved on to a later stage, and how
many *reached* it — were ever there or further along, or are won. Distinct deals are counted,
so a deal moved backwards and forwards again counts once, and a deal re-opened after a loss
counts by where it went. Stage-to-stage conversion is reached(next) / reached(this); overall
conversion is won / reached(first stage).

The numbers come from the stage summary (``funnel_deal_stage``, one row per deal and stage
it entered) by one grouped query; ``tests/test_stage_summary.py`` checks them against the
same counts taken from the raw history.
"""

from __future__ import annotations

from rapport.api import gettext as _

from rapport_funnel.pipelines import stages_of
from rapport_funnel.reports.base import Bar, Report, ReportFilters, percent
from rapport_funnel.reports.summary import StageTotals, stage_totals
from rapport_funnel.tables import IN_PROGRESS, LOST


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
    every = await stages_of(filters.pipeline_id, include_archived=True)
    totals = await stage_totals(filters, [s["id"] for s in every])
    # Each deal has one furthest row: the furthest working stage it entered, or Won while
    # it is won. A deal reached a stage when its furthest row lies at that stage or beyond.
    furthest = [(s["sort"], totals[s["id"]].furthest) for s in every if s["id"] in totals]
    stages = [s for s in every if s["semantic"] != LOST and not s["archived"]]

    def reached(sort: int) -> int:
        return sum(n for top, n in furthest if top >= sort)

    first = reached(stages[0]["sort"]) if stages else 0
    for index, stage in enumerate(stages):
        here = reached(stage["sort"])
        following = stages[index + 1] if index + 1 < len(stages) else None
        to_next = percent(reached(following["sort"]), here) if following else None
        counts = totals.get(stage["id"], StageTotals())
        report.rows.append([
            stage["name"],
            counts.entered,
            counts.moved_on if stage["semantic"] == IN_PROGRESS else None,
            here,
            to_next,
            percent(here, first),
        ])
        report.bars.append(Bar(stage["name"], here, f"{here} ({percent(here, first) or 0}%)"))
    return report
