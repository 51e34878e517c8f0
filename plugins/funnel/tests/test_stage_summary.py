"""The stage summary the cohort reports read gives the numbers the raw history gives.

A varied history is built through the services, the REST API and a ``lead.received`` event:
deals moving forward, backwards, skipping stages, won, lost, re-opened after a loss and after
a win, changing owner and source, in two pipelines, with a stage added after the fact. The
conversion and velocity reports (which read ``funnel_deal_stage``) are then compared, for
several periods and filters, with the same numbers computed straight from
``funnel_stage_history`` by the queries the reports ran before the summary existed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rapport.api import LeadReceived, create_contact, publish, transaction
from rapport.testing import make_user
from rapport_funnel.deals import assign_deal, create_deal, move_deal, update_deal
from rapport_funnel.lost_reasons import list_reasons
from rapport_funnel.pipelines import add_stage, create_pipeline, stages_of
from rapport_funnel.reports import conversion, velocity
from rapport_funnel.reports.base import ReportFilters, deal_filter, percent
from rapport_funnel.stage_summary import DAILY_REBUILD_SQL, rebuild_sql
from rapport_funnel.tables import (
    IN_PROGRESS,
    LOST,
    WON_SORT,
    FunnelDeal,
    FunnelDealStage,
    FunnelStageDaily,
)

pytestmark = pytest.mark.enable("funnel")

T0 = dt.datetime(2026, 10, 5, 9, tzinfo=dt.UTC)
DAY = 86400


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


# --- the numbers from the raw history (the reports' queries before the summary) -----------


async def raw_conversion_rows(filters: ReportFilters) -> list[list[Any]]:
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
    stages = [s for s in await stages_of(filters.pipeline_id) if s["semantic"] != LOST]

    def reached(sort: int) -> int:
        return sum(int(r["n"]) for r in tops if r["top"] is not None and int(r["top"]) >= sort)

    first = reached(stages[0]["sort"])
    rows = []
    for index, stage in enumerate(stages):
        here = reached(stage["sort"])
        following = stages[index + 1] if index + 1 < len(stages) else None
        rows.append([
            stage["name"],
            entered_by.get(stage["id"], 0),
            moved_by.get(stage["id"], 0) if stage["semantic"] == IN_PROGRESS else None,
            here,
            percent(reached(following["sort"]), here) if following else None,
            percent(here, first),
        ])
    return rows


async def raw_stays(filters: ReportFilters) -> list[list[Any]]:
    """Velocity's stage, deals and average days, from the raw history."""
    where, args = deal_filter(filters, created_in_period=True)
    stays = await FunnelDeal.raw(
        "SELECT h.to_stage_id AS stage_id, COUNT(DISTINCT h.deal_id) AS deals,"
        " SUM(h.seconds_in_stage) AS seconds"
        " FROM funnel_stage_history h JOIN funnel_deal d ON d.id = h.deal_id"
        f" WHERE h.left_at IS NOT NULL AND {where} GROUP BY h.to_stage_id",
        *args,
    )
    by_stage = {r["stage_id"]: r for r in stays}
    rows = []
    for stage in await stages_of(filters.pipeline_id):
        if stage["semantic"] != IN_PROGRESS:
            continue
        row = by_stage.get(stage["id"])
        deals = int(row["deals"]) if row else 0
        days = round(int(row["seconds"] or 0) / DAY / deals, 2) if deals else None
        rows.append([stage["name"], deals, days])
    return rows


# --- the history ---------------------------------------------------------------------------


@pytest.fixture
async def varied(pipeline, api_client):
    s = {name: stage["id"] for name, stage in pipeline["stages"].items()}
    reasons = {r["name"]: r["id"] for r in await list_reasons()}
    price, budget = reasons["Price too high"], reasons["No budget"]
    rep1 = await make_user("rep1@example.com", "Ann Rep")
    rep2 = await make_user("rep2@example.com", "Bob Rep")
    rep3 = await make_user("rep3@example.com", "Cid Rep")
    client = await create_contact({"first_name": "Client", "owner_id": rep3})

    async def deal(title: str, owner: int, source: str, at: dt.datetime, stage: str = "",
                   pipeline_id: int = pipeline["id"]) -> int:
        data = {"title": title, "contact_id": client, "owner_id": owner,
                "pipeline_id": pipeline_id, "source": source, "amount": "100"}
        if stage:
            data["stage_id"] = s[stage]
        return await create_deal(data, at=at)

    async def path(deal_id: int, start: float, *steps: str, reason: int = price) -> None:
        for n, stage in enumerate(steps, 1):
            await move_deal(deal_id, s[stage], at=day(start + n),
                            lost_reason_id=reason if stage == "Lost" else None)

    # October.
    a = await deal("A forward to won", rep1, "web", day(0))
    await path(a, 0, "Needs analysis", "Proposal", "Negotiation", "Won")
    b = await deal("B back and forth", rep1, "web", day(1))
    await path(b, 1, "Needs analysis", "Qualification", "Needs analysis", "Proposal",
               "Needs analysis")
    c = await deal("C skips to proposal, lost", rep2, "call", day(2))
    await path(c, 2, "Proposal", "Lost")
    d = await deal("D lost, re-opened, won", rep2, "call", day(3))
    await path(d, 3, "Needs analysis", "Lost", "Proposal", "Won", reason=budget)
    e = await deal("E won, re-opened", rep1, "partner", day(4))
    await path(e, 4, "Needs analysis", "Won", "Qualification")
    f = await deal("F created in Won", rep2, "web", day(5), stage="Won")
    g = await deal("G created in Lost", rep1, "call", day(6), stage="Lost")
    h = await deal("H skips to won", rep3, "web", day(7))
    await path(h, 7, "Won")
    # November.
    i = await deal("I owner and source change", rep1, "web", day(30))
    await path(i, 30, "Needs analysis", "Proposal")
    await assign_deal(i, rep2)
    await update_deal(i, {"source": "partner"})
    j = await deal("J negotiation, back to qualification", rep2, "partner", day(31),
                   stage="Needs analysis")
    await path(j, 31, "Negotiation", "Qualification", "Lost", "Needs analysis")
    await update_deal(j, {"owner_id": rep3, "title": "J renamed"})
    k = await deal("K lost twice", rep3, "web", day(32))
    await path(k, 32, "Lost", "Qualification", "Proposal", "Lost")
    # Another pipeline: never in the default pipeline's numbers.
    other = await create_pipeline("Partners", [{"name": "Intro"}, {"name": "Pilot"}])
    other_stages = {st["name"]: st["id"] for st in await stages_of(other)}
    m = await create_deal({"title": "M other pipeline", "contact_id": client, "owner_id": rep1,
                           "pipeline_id": other, "source": "web"}, at=day(33))
    await move_deal(m, other_stages["Pilot"], at=day(34))
    await move_deal(m, other_stages["Won"], at=day(35))
    # A stage added later: deals won before it count as having reached it.
    await add_stage(pipeline["id"], "Contract", 90)
    # Now: through the REST API and a lead.
    api = await api_client.new(scopes=["deals:write"])
    made = await api.post("/api/v1/funnel/deals", json={
        "title": "N from the API", "pipeline_id": pipeline["id"], "contact_id": client,
        "source": "api", "owner_id": rep1,
    })
    assert made.status_code == 201, made.text
    n = made.json()["id"]
    for stage in ("Proposal", "Needs analysis", "Won"):
        moved = await api.post(f"/api/v1/funnel/deals/{n}/move", json={"stage_id": s[stage]})
        assert moved.status_code == 200, moved.text
    async with transaction():
        await publish(LeadReceived(contact_id=client, title="O lead", source="web form",
                                   origin="webforms", stage="Proposal"))
    lead = await FunnelDeal.select(FunnelDeal.id).where(FunnelDeal.title == "O lead").first()
    assert lead is not None
    await move_deal(lead["id"], s["Lost"], lost_reason_id=price)
    return {"pipeline": pipeline["id"], "other": other, "rep1": rep1, "rep2": rep2,
            "rep3": rep3, "deals": [a, b, c, d, e, f, g, h, i, j, k, n, lead["id"]]}


def filters(history: dict[str, Any], since: dt.datetime, until: dt.datetime,
            **kw: Any) -> ReportFilters:
    return ReportFilters(since=since, until=until, pipeline_id=history["pipeline"], **kw)


def periods(history: dict[str, Any]) -> list[ReportFilters]:
    everything = (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2028, 1, 1, tzinfo=dt.UTC))
    october = (dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    november = (dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    week = (day(2), day(5))  # C, D and E only
    empty = (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
    cases = [filters(history, *p) for p in (everything, october, november, week, empty)]
    for owner in ("rep1", "rep2", "rep3"):
        cases.append(filters(history, *everything, owner_id=history[owner]))
    for source in ("web", "call", "partner", "api", "web form", "nothing"):
        cases.append(filters(history, *everything, source=source))
    cases.append(filters(history, *october, owner_id=history["rep2"], source="call"))
    cases.append(filters(history, *everything, owner_id=history["rep2"], source="partner"))
    other = filters(history, *everything)
    other.pipeline_id = history["other"]
    cases.append(other)
    return cases


async def test_conversion_from_the_summary_equals_the_raw_history(varied):
    everything = periods(varied)[0]
    report = await conversion.build(everything)
    # The history is as varied as meant: not an empty or trivial funnel.
    assert [row[0] for row in report.rows] == [
        "Qualification", "Needs analysis", "Proposal", "Negotiation", "Contract", "Won",
    ]
    assert report.rows[0][3] == 12 and report.rows[-1][3] == 5  # G never worked; A D F H N won
    for case in periods(varied):
        assert (await conversion.build(case)).rows == await raw_conversion_rows(case), case


async def test_velocity_from_the_summary_equals_the_raw_history(varied):
    report = await velocity.build(periods(varied)[0])
    assert report.rows[0][1] > 0 and report.rows[0][2] is not None
    for case in periods(varied):
        rows = [row[:3] for row in (await velocity.build(case)).rows]
        assert rows == await raw_stays(case), case


async def test_the_backfill_rebuilds_what_the_writes_kept(varied):
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(str(row[c]) for c in sorted(row) if c != "id")

    async def daily() -> list[tuple[Any, ...]]:
        rows = await FunnelStageDaily.select()
        # Sums moved down to nothing by later changes may stay as zero rows.
        return sorted(key(r) for r in rows if any(r[c] for c in ("entered", "seconds")))

    kept = sorted(key(r) for r in await FunnelDealStage.select())
    kept_daily = await daily()
    assert len(kept) > len(varied["deals"]) and kept_daily
    # A deal has one furthest row unless it never worked and is not won (G, created in Lost).
    furthest = await FunnelDealStage.select(FunnelDealStage.deal_id).where(
        FunnelDealStage.furthest == 1
    )
    assert sorted(r["deal_id"] for r in furthest) == sorted(
        d for d in [*varied["deals"], *await _deals_of(varied["other"])] if d != varied["deals"][6]
    )
    engine = "sqlite" if FunnelDeal._meta.db.engine_type == "sqlite" else "postgres"
    async with transaction():
        await FunnelDealStage.delete(force=True)
        await FunnelStageDaily.delete(force=True)
        await FunnelDealStage.raw(rebuild_sql(engine))
        await FunnelDealStage.raw(DAILY_REBUILD_SQL)
    assert sorted(key(r) for r in await FunnelDealStage.select()) == kept
    assert await daily() == kept_daily


async def _deals_of(pipeline_id: int) -> list[int]:
    rows = await FunnelDeal.select(FunnelDeal.id).where(FunnelDeal.pipeline_id == pipeline_id)
    return [r["id"] for r in rows]


def test_the_migration_backfills_with_the_plugins_statements():
    from rapport_funnel.migrations import funnel_0004_stage_summary as migration

    # The migration keeps frozen copies; when a statement changes, existing rows need a new
    # migration that rebuilds them.
    for engine, day in migration.DAY_SQL.items():
        assert migration.BACKFILL.replace("DAY_SQL", day) == rebuild_sql(engine)
    assert migration.DAILY_BACKFILL == DAILY_REBUILD_SQL


async def test_the_reports_source_filter_lists_what_the_deals_list(varied):
    from rapport_funnel.board import sources_of as from_deals
    from rapport_funnel.reports.summary import sources_of

    listed = await sources_of(varied["pipeline"])
    assert listed == await from_deals(varied["pipeline"])
    assert "partner" in listed and "web form" in listed  # I's new source, the lead's
