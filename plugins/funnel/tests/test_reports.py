"""Report numbers against hand-computed expectations on a small seeded history.

November 2026, the default pipeline (Qualification 10 %, Needs analysis 25 %, Proposal 50 %,
Negotiation 75 %, Won, Lost). Days are counted from t0 = 2 November 09:00 UTC.

  A  rep1  web   spring  1000  Q(0) → N(2) → P(5) → Won(10)
  B  rep1  web           2000  Q(0) → N(1) → Q(3) → N(4) → P(6)        moved backwards; open
  C  rep2  call  autumn  3000  Q(0) → Lost(4, price) → N(6) → Won(9)    re-opened, then won
  D  rep2  call          4000  Q(0) → N(3) → Lost(7, no budget)
  E  rep1  web            500  Q(0), a line "Licence" 2 × 250           open
  F  rep1  web            100  created 1 October, Q                      outside the period
"""

from __future__ import annotations

import datetime as dt

import pytest
from rapport.api import create_contact, log_activity
from rapport.testing import make_user
from rapport_funnel.deals import add_line_item, create_deal, move_deal
from rapport_funnel.lost_reasons import list_reasons
from rapport_funnel.reports import (
    attribution,
    conversion,
    forecast,
    goals,
    lost_reasons,
    reps,
    velocity,
)
from rapport_funnel.reports.base import Report, ReportFilters
from rapport_funnel.reports.csv_export import safe_cell, to_csv

pytestmark = pytest.mark.enable("funnel")

T0 = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


@pytest.fixture
async def history(pipeline):
    s = {name: stage["id"] for name, stage in pipeline["stages"].items()}
    reasons = {r["name"]: r["id"] for r in await list_reasons()}
    rep1 = await make_user("rep1@example.com", "Ann Rep")
    rep2 = await make_user("rep2@example.com", "Bob Rep")
    contact = await create_contact({"first_name": "Client"})

    async def deal(title, owner, source, amount, campaign="", close=None, at=T0):
        return await create_deal(
            {"title": title, "contact_id": contact, "owner_id": owner,
             "pipeline_id": pipeline["id"], "source": source, "amount": amount,
             "utm_campaign": campaign, "expected_close": close},
            at=at,
        )

    a = await deal("A", rep1, "web", "1000", "spring")
    for stage, when in (("Needs analysis", 2), ("Proposal", 5), ("Won", 10)):
        await move_deal(a, s[stage], at=day(when))
    b = await deal("B", rep1, "web", "2000", close="2026-12-15")
    for stage, when in (("Needs analysis", 1), ("Qualification", 3), ("Needs analysis", 4),
                        ("Proposal", 6)):
        await move_deal(b, s[stage], at=day(when))
    c = await deal("C", rep2, "call", "3000", "autumn")
    await move_deal(c, s["Lost"], lost_reason_id=reasons["Price too high"], at=day(4))
    await move_deal(c, s["Needs analysis"], at=day(6))
    await move_deal(c, s["Won"], at=day(9))
    d = await deal("D", rep2, "call", "4000", close="2026-12-20")
    await move_deal(d, s["Needs analysis"], at=day(3))
    await move_deal(d, s["Lost"], lost_reason_id=reasons["No budget"], at=day(7))
    e = await deal("E", rep1, "web", "0")
    await add_line_item(e, "Licence", 2, 25000)
    await deal("F", rep1, "web", "100", at=dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
    for kind, author, n in (("call", rep1, 2), ("meeting", rep1, 1), ("task", rep1, 1),
                            ("call", rep2, 1)):
        for _i in range(n):
            await log_activity(contact, kind, body="x", author_id=author, occurred_at=day(1))
    await log_activity(contact, "call", body="old", author_id=rep1,
                       occurred_at=dt.datetime(2026, 10, 5, tzinfo=dt.UTC))
    return {"pipeline": pipeline["id"], "rep1": rep1, "rep2": rep2}


def november(history, **kw) -> ReportFilters:
    return ReportFilters(
        since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        until=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        pipeline_id=history["pipeline"], **kw,
    )


async def test_conversion_counts_each_deal_once_per_stage(history):
    report = await conversion.build(november(history))
    assert report.rows == [
        # stage, entered, moved on, reached, to next %, from first %
        ["Qualification", 5, 3, 5, 80.0, 100.0],
        ["Needs analysis", 4, 3, 4, 75.0, 80.0],
        ["Proposal", 2, 1, 3, 66.7, 60.0],
        ["Negotiation", 0, 0, 2, 100.0, 40.0],
        ["Won", 2, None, 2, None, 40.0],
    ]
    assert [b.value for b in report.bars] == [5, 4, 3, 2, 2]


async def test_conversion_by_owner_and_source(history):
    rep2 = await conversion.build(november(history, owner_id=history["rep2"]))
    assert [row[3] for row in rep2.rows] == [2, 2, 1, 1, 1]  # C reached Won, D only N
    web = await conversion.build(november(history, source="web"))
    assert [row[1] for row in web.rows] == [3, 2, 2, 0, 1]  # A, B, E entered Q; F is October


async def test_velocity_averages_days_per_deal_and_counts_stalls(history):
    report = await velocity.build(november(history))
    assert report.rows == [
        # stage, deals, average days, open now, stalled now
        ["Qualification", 4, 2.75, 2, 2],  # A 2, B 1+1, C 4, D 3; E and F idle > 7 days
        ["Needs analysis", 4, 3.5, 0, 0],  # A 3, B 2+2, C 3, D 4
        ["Proposal", 1, 5.0, 1, 1],  # A 5; B in Proposal > 14 days
        ["Negotiation", 0, None, 0, 0],
    ]


async def test_lost_reasons_count_only_deals_still_lost(history):
    report = await lost_reasons.build(november(history))
    assert report.rows == [["No budget", 1, 100.0, "RUB", 4000.0]]


async def test_per_rep_numbers(history):
    report = await reps.build(november(history))
    assert report.rows == [
        # rep, created, won, lost, currency, revenue, calls, meetings, tasks
        ["Ann Rep", 3, 1, 0, "RUB", 1000.0, 2, 1, 1],
        ["Bob Rep", 2, 1, 1, "RUB", 3000.0, 1, 0, 0],
    ]


async def test_attribution_of_won_revenue(history):
    report = await attribution.build(november(history))
    assert report.rows == [
        ["Source", "call", 1, "RUB", 3000.0],
        ["Source", "web", 1, "RUB", 1000.0],
        ["Campaign", "autumn", 1, "RUB", 3000.0],
        ["Campaign", "spring", 1, "RUB", 1000.0],
    ]


async def test_forecast_weights_the_open_pipeline(history):
    report = await forecast.build(november(history))
    assert report.rows == [
        # by, value, open deals, currency, amount, weighted
        ["Month", "No date", 2, "RUB", 600.0, 60.0],  # E 500 × 10 %, F 100 × 10 %
        ["Month", "2026-12", 1, "RUB", 2000.0, 1000.0],  # B 2000 × 50 %
        ["Owner", "Ann Rep", 3, "RUB", 2600.0, 1060.0],
        ["Product", "Licence", 1, "RUB", 500.0, 50.0],
    ]


async def test_goals_show_progress_in_their_period(history):
    await goals.add_goal(history["rep1"], "2026-11-01", "2026-11-30", "2000")
    await goals.add_goal(history["rep2"], "2026-11-01", "2026-11-30", "4000")
    await goals.add_goal(history["rep2"], "2026-10-01", "2026-10-31", "4000")  # not shown
    report = await goals.build(november(history))
    assert report.rows == [
        ["Ann Rep", "2026-11-01", "2026-11-30", "RUB", 2000.0, 1000.0, 50.0],
        ["Bob Rep", "2026-11-01", "2026-11-30", "RUB", 4000.0, 3000.0, 75.0],
    ]


def test_csv_cells_cannot_become_formulas():
    assert [safe_cell(v) for v in ("=1+2", "+7", "-x", "@SUM(A1)", "\tx", "\rx", "ok")] == [
        "'=1+2", "'+7", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "ok"
    ]
    assert safe_cell(-5) == -5 and safe_cell(None) == ""
    report = Report(key="k", title="t", columns=["Source", "Revenue"],
                    rows=[["=HYPERLINK(\"http://x\")", -5.5]])
    assert to_csv(report).splitlines() == ["Source,Revenue", "\"'=HYPERLINK(\"\"http://x\"\")\",-5.5"]
