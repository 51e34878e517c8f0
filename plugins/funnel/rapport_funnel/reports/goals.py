"""Sales goals: a target of won revenue per rep and period, and the progress towards it.

Progress is one grouped query joining goals to the deals their owner won within the goal's
period, in the goal's currency.
"""

from __future__ import annotations

import datetime as dt

from rapport.api import gettext as _
from rapport.api import user_names

from rapport_funnel.errors import FunnelError
from rapport_funnel.money import instance_currency, parse_amount
from rapport_funnel.reports.base import Bar, Report, ReportFilters, major, percent
from rapport_funnel.tables import FunnelDeal, FunnelGoal


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


async def add_goal(owner_id: int | None, start: str, end: str, target: str,
                   currency: str = "") -> int:
    errors: dict[str, str] = {}
    if owner_id is None:
        errors["goal_owner"] = _("Pick a rep.")
    try:
        first = dt.date.fromisoformat(start)
        last = dt.date.fromisoformat(end)
        if last < first:
            errors["goal_end"] = _("The period ends before it starts.")
    except ValueError:
        errors["goal_start"] = _("Enter a date as YYYY-MM-DD.")
        first = last = dt.date.today()
    amount = parse_amount(target)
    if not amount:
        errors["goal_target"] = _("Enter an amount such as 12500 or 12500.50.")
    if errors:
        raise FunnelError(errors)
    rows = await FunnelGoal.insert(
        FunnelGoal(
            owner_id=owner_id, period_start=_midnight(first),
            period_end=_midnight(last + dt.timedelta(days=1)),
            target_minor=amount, currency=(currency or instance_currency()).upper()[:3],
        )
    ).returning(FunnelGoal.id)
    return rows[0]["id"]


async def build(filters: ReportFilters) -> Report:
    """Goals whose period overlaps the report's period."""
    report = Report(
        key="goals",
        title=_("Sales goals"),
        columns=[_("Rep"), _("From"), _("To"), _("Currency"), _("Target"), _("Won"),
                 _("Progress, %")],
    )
    owner_sql = " AND g.owner_id = {}" if filters.owner_id is not None else ""
    owner_args = [filters.owner_id] if filters.owner_id is not None else []
    rows = await FunnelDeal.raw(
        "SELECT g.id AS id, g.owner_id AS owner, g.period_start AS period_start,"
        " g.period_end AS period_end, g.currency AS currency, g.target_minor AS target,"
        " COALESCE(SUM(d.amount_minor), 0) AS won"
        " FROM funnel_goal g LEFT JOIN funnel_deal d ON d.owner_id = g.owner_id"
        " AND d.status = 'won' AND d.currency = g.currency"
        " AND d.closed_at >= g.period_start AND d.closed_at < g.period_end"
        " WHERE g.period_start < {} AND g.period_end > {}" + owner_sql +
        " GROUP BY g.id, g.owner_id, g.period_start, g.period_end, g.currency, g.target_minor"
        " ORDER BY g.period_start, g.id",
        filters.until, filters.since, *owner_args,
    )
    names = await user_names({r["owner"] for r in rows})
    for row in rows:
        start = _as_datetime(row["period_start"])
        end = _as_datetime(row["period_end"]) - dt.timedelta(days=1)
        progress = percent(int(row["won"]), int(row["target"]))
        name = names.get(row["owner"], "")
        report.rows.append([name, start.date().isoformat(), end.date().isoformat(),
                            row["currency"], major(row["target"]), major(row["won"]), progress])
        report.bars.append(Bar(f"{name} · {start.date().isoformat()}", progress or 0,
                               f"{progress or 0}%"))
    return report


def _as_datetime(value: object) -> dt.datetime:
    # Raw queries on SQLite return the stored text; on PostgreSQL a datetime.
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))
