"""Lost reasons: deals lost in the period (and still lost), by reason."""

from __future__ import annotations

from rapport.api import gettext as _

from rapport_funnel.reports.base import Bar, Report, ReportFilters, deal_filter, major, percent
from rapport_funnel.tables import FunnelDeal


async def build(filters: ReportFilters) -> Report:
    report = Report(
        key="lost",
        title=_("Lost reasons"),
        columns=[_("Reason"), _("Deals"), _("Share, %"), _("Currency"), _("Amount")],
    )
    where, args = deal_filter(filters, closed_in_period=True)
    rows = await FunnelDeal.raw(
        "SELECT COALESCE(r.name, '') AS reason, d.currency AS currency, COUNT(*) AS n,"
        " SUM(d.amount_minor) AS total FROM funnel_deal d"
        " LEFT JOIN funnel_lost_reason r ON r.id = d.lost_reason_id"
        f" WHERE d.status = 'lost' AND {where}"
        " GROUP BY r.name, d.currency ORDER BY COUNT(*) DESC, r.name",
        *args,
    )
    total = sum(int(r["n"]) for r in rows)
    for row in rows:
        name = row["reason"] or _("No reason")
        count = int(row["n"])
        report.rows.append([name, count, percent(count, total), row["currency"],
                            major(row["total"])])
        report.bars.append(Bar(name, count, f"{count} ({percent(count, total)}%)"))
    return report
