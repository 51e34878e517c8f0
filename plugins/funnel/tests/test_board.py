"""The board's data: columns with count and sum, cards with the next task and warning marks,
a fixed number of queries whatever the number of deals, the "no next step" list."""

from __future__ import annotations

import datetime as dt

import pytest
from rapport.api import create_contact, transaction
from rapport.testing import make_user
from rapport_funnel import board
from rapport_funnel.deals import create_deal, now
from rapport_funnel.tables import FunnelDeal, FunnelStageHistory

pytestmark = pytest.mark.enable("funnel")


async def test_columns_carry_count_sum_and_marked_cards(pipeline):
    rep = await make_user("rep@example.com", "Rita")
    anna = await create_contact({"first_name": "Anna", "owner_id": rep})
    q = pipeline["stages"]["Qualification"]
    fresh = await create_deal({"title": "Fresh", "contact_id": anna, "pipeline_id": pipeline["id"],
                               "amount": "100"})
    old = await create_deal({"title": "Old", "contact_id": anna, "pipeline_id": pipeline["id"],
                             "amount": "250"}, at=now() - dt.timedelta(days=30))
    bare = await create_deal({"title": "Bare", "pipeline_id": pipeline["id"], "owner_id": rep,
                              "amount": "1"})  # no contact: no follow-up task is possible
    columns = {c.stage["id"]: c for c in await board.board(pipeline["id"], board.BoardFilters())}
    column = columns[q["id"]]
    assert (column.count, column.total_minor) == (3, 35100)
    cards = {c["id"]: c for c in column.cards}
    assert cards[fresh]["next_task"]["body"].startswith("Follow up on Fresh")
    assert not cards[fresh]["rotting"] and not cards[fresh]["overdue"]
    # Qualification rots after 7 days; the follow-up (due a day after creation) is overdue.
    assert cards[old]["rotting"] and cards[old]["overdue"] and cards[old]["days_in_stage"] == 30
    assert cards[bare]["no_next_step"] and cards[bare]["next_task"] is None
    assert [d["id"] for d in await board.no_next_step(rep)] == [bare]


async def test_filters_narrow_the_board(pipeline):
    rep = await make_user("rep@example.com")
    other = await make_user("other@example.com")
    await create_deal({"title": "Mine", "pipeline_id": pipeline["id"], "owner_id": rep,
                       "source": "web"})
    await create_deal({"title": "Theirs", "pipeline_id": pipeline["id"], "owner_id": other,
                       "source": "call"})
    await create_deal({"title": "Old", "pipeline_id": pipeline["id"], "owner_id": rep,
                       "source": "web"}, at=now() - dt.timedelta(days=40))

    async def titles(**kw) -> set[str]:
        columns = await board.board(pipeline["id"], board.BoardFilters(**kw))
        return {card["title"] for c in columns for card in c.cards}

    assert await titles(owner_id=rep) == {"Mine", "Old"}
    assert await titles(source="call") == {"Theirs"}
    assert await titles(since=now() - dt.timedelta(days=30)) == {"Mine", "Theirs"}
    assert await titles(restricted_owner=other) == {"Theirs"}
    assert await board.sources_of(pipeline["id"]) == ["call", "web"]


async def _bulk_deals(pipeline: dict, count: int, contact: int) -> None:
    """Many open deals, written directly (the board is what is measured here)."""
    q = pipeline["stages"]["Qualification"]["id"]
    moment = now()
    async with transaction():
        rows = await FunnelDeal.insert(*[
            FunnelDeal(title=f"Deal {i}", contact_id=contact, pipeline_id=pipeline["id"],
                       stage_id=q, amount_minor=100, currency="RUB", stage_entered_at=moment,
                       created_at=moment, updated_at=moment)
            for i in range(count)
        ]).returning(FunnelDeal.id)
        await FunnelStageHistory.insert(*[
            FunnelStageHistory(deal_id=r["id"], pipeline_id=pipeline["id"], to_stage_id=q,
                               entered_at=moment)
            for r in rows
        ])


async def _queries_for_board(rapport, pipeline, monkeypatch) -> tuple[int, list]:
    """Run the board's reads, counting the queries that reach the engine."""
    engine_class = type(rapport.engine)
    counted = []
    original = engine_class.run_querystring

    async def counting(self, querystring, in_pool=True):
        counted.append(str(querystring)[:60])
        return await original(self, querystring, in_pool=in_pool)

    with monkeypatch.context() as patch:
        patch.setattr(engine_class, "run_querystring", counting)
        columns = await board.board(pipeline["id"], board.BoardFilters())
    return len(counted), columns


async def test_the_board_costs_the_same_queries_for_ten_or_a_thousand_deals(
    rapport, pipeline, monkeypatch
):
    anna = await create_contact({"first_name": "Anna"})
    await _bulk_deals(pipeline, 10, anna)
    few, _columns = await _queries_for_board(rapport, pipeline, monkeypatch)
    await _bulk_deals(pipeline, 990, anna)
    many, columns = await _queries_for_board(rapport, pipeline, monkeypatch)
    assert 4 <= few == many <= 8
    q = pipeline["stages"]["Qualification"]["id"]
    column = next(c for c in columns if c.stage["id"] == q)
    assert column.count == 1000 and len(column.cards) == 1000
    assert column.total_minor == 100_000


def test_board_amounts_are_formatted_like_babel_formats_them():
    from rapport_funnel.money import format_money

    # Outside a request the language is the default, English.
    assert format_money(1250050, "RUB") == "RUB12,500.50"
    assert format_money(100000000, "USD") == "$1,000,000"
    assert format_money(5, "EUR") == "€0.05"
