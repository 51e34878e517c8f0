"""Forecast: the open pipeline weighted by each stage's probability, by expected close month,
by owner and by product. Not limited to the period: it is what is open now."""

from __future__ import annotations

from rapport.api import gettext as _
from rapport.api import user_names

from rapport_funnel.reports.base import Bar, Report, ReportFilters, deal_filter, major
from rapport_funnel.tables import FunnelDeal


async def build(filters: ReportFilters) -> Report:
    report = Report(
        key="forecast",
        title=_("Forecast"),
        columns=[_("By"), _("Value"), _("Open deals"), _("Currency"), _("Amount"),
                 _("Weighted")],
    )
    where, args = deal_filter(filters)
    base = (
        " FROM funnel_deal d JOIN funnel_stage s ON s.id = d.stage_id"
        f" WHERE d.status = 'open' AND {where}"
    )
    months = await FunnelDeal.raw(
        "SELECT d.expected_close_month AS value, d.currency AS currency, COUNT(*) AS n,"
        " SUM(d.amount_minor) AS total, SUM(d.amount_minor * s.probability) AS weighted"
        f"{base} GROUP BY d.expected_close_month, d.currency"
        " ORDER BY d.expected_close_month, d.currency",
        *args,
    )
    owners = await FunnelDeal.raw(
        "SELECT d.owner_id AS value, d.currency AS currency, COUNT(*) AS n,"
        " SUM(d.amount_minor) AS total, SUM(d.amount_minor * s.probability) AS weighted"
        f"{base} GROUP BY d.owner_id, d.currency ORDER BY d.owner_id, d.currency",
        *args,
    )
    products = await FunnelDeal.raw(
        "SELECT i.name AS value, d.currency AS currency, COUNT(DISTINCT d.id) AS n,"
        " SUM(i.quantity * i.price_minor) AS total,"
        " SUM(i.quantity * i.price_minor * s.probability) AS weighted"
        " FROM funnel_line_item i JOIN funnel_deal d ON d.id = i.deal_id"
        " JOIN funnel_stage s ON s.id = d.stage_id"
        f" WHERE d.status = 'open' AND {where}"
        " GROUP BY i.name, d.currency ORDER BY i.name, d.currency",
        *args,
    )
    names = await user_names({r["value"] for r in owners})
    for label, rows, show in (
        (_("Month"), months, lambda v: v or _("No date")),
        (_("Owner"), owners, lambda v: names.get(v, _("Nobody"))),
        (_("Product"), products, lambda v: v),
    ):
        for row in rows:
            weighted = major(round(int(row["weighted"] or 0) / 100))
            report.rows.append([label, show(row["value"]), int(row["n"]), row["currency"],
                                major(row["total"]), weighted])
            if rows is months:
                report.bars.append(Bar(f"{show(row['value'])} · {row['currency']}", weighted))
    return report
