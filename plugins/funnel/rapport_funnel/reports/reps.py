"""Per rep, in the period: deals created, won, lost, revenue won, and the calls, meetings and
tasks they logged (the core's activities, counted by one grouped query)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rapport.api import activity_counts, user_names
from rapport.api import gettext as _

from rapport_funnel.reports.base import Bar, Report, ReportFilters, deal_filter, major
from rapport_funnel.tables import FunnelDeal

ACTIVITY_KINDS = ("call", "meeting", "task")


async def build(filters: ReportFilters) -> Report:
    report = Report(
        key="reps",
        title=_("Sales reps"),
        columns=[_("Rep"), _("Created"), _("Won"), _("Lost"), _("Currency"), _("Revenue"),
                 _("Calls"), _("Meetings"), _("Tasks")],
    )
    created_where, created_args = deal_filter(filters, created_in_period=True)
    created = await FunnelDeal.raw(
        "SELECT d.owner_id AS owner, COUNT(*) AS n FROM funnel_deal d"
        f" WHERE {created_where} GROUP BY d.owner_id",
        *created_args,
    )
    closed_where, closed_args = deal_filter(filters, closed_in_period=True)
    closed = await FunnelDeal.raw(
        "SELECT d.owner_id AS owner, d.status AS status, d.currency AS currency,"
        " COUNT(*) AS n, SUM(d.amount_minor) AS total FROM funnel_deal d"
        f" WHERE d.status IN ('won', 'lost') AND {closed_where}"
        " GROUP BY d.owner_id, d.status, d.currency",
        *closed_args,
    )
    activities = await activity_counts(filters.since, filters.until, list(ACTIVITY_KINDS))
    table: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {"created": 0, "won": 0, "lost": 0, "revenue": {}}
    )
    for row in created:
        table[row["owner"]]["created"] = int(row["n"])
    for row in closed:
        entry = table[row["owner"]]
        entry[row["status"]] += int(row["n"])
        if row["status"] == "won":
            entry["revenue"][row["currency"]] = int(row["total"] or 0)
    owners = set(table)
    if filters.owner_id is not None:
        owners = {filters.owner_id} & (owners | {a for a, _k in activities})
    else:
        owners |= {a for a, _k in activities if a is not None}
    names = await user_names(owners)
    for owner in sorted(owners, key=lambda o: names.get(o, "")):
        entry = table[owner]
        revenue = entry["revenue"] or {"": 0}
        for currency, total in sorted(revenue.items()):
            report.rows.append([
                names.get(owner, _("Nobody")), entry["created"], entry["won"], entry["lost"],
                currency, major(total),
                *(activities.get((owner, kind), 0) for kind in ACTIVITY_KINDS),
            ])
        report.bars.append(Bar(names.get(owner, _("Nobody")), major(sum(revenue.values()))))
    return report
