"""Source and campaign attribution: revenue of the deals won in the period, by the source
and by the UTM campaign they came from."""

from __future__ import annotations

from rapport.api import gettext as _

from rapport_funnel.reports.base import Bar, Report, ReportFilters, deal_filter, major
from rapport_funnel.tables import FunnelDeal


async def build(filters: ReportFilters) -> Report:
    report = Report(
        key="attribution",
        title=_("Source and campaign attribution"),
        columns=[_("By"), _("Value"), _("Won deals"), _("Currency"), _("Revenue")],
    )
    where, args = deal_filter(filters, closed_in_period=True)
    for label, column in ((_("Source"), "source"), (_("Campaign"), "utm_campaign")):
        rows = await FunnelDeal.raw(
            f"SELECT d.{column} AS value, d.currency AS currency, COUNT(*) AS n,"
            " SUM(d.amount_minor) AS total FROM funnel_deal d"
            f" WHERE d.status = 'won' AND {where}"
            f" GROUP BY d.{column}, d.currency ORDER BY SUM(d.amount_minor) DESC, d.{column}",
            *args,
        )
        for row in rows:
            value = row["value"] or _("(none)")
            report.rows.append([label, value, int(row["n"]), row["currency"],
                                major(row["total"])])
            if column == "source":
                report.bars.append(Bar(f"{value} · {row['currency']}", major(row["total"])))
    return report
