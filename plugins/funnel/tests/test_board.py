"""The board's data: columns with count and per-currency sums, a first page of cards per
column and keyset pages after it, cards with the next task and warning marks, a fixed number
of queries whatever the number of deals, the "no next step" list."""

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
    fresh = await create_deal(
        {"title": "Fresh", "contact_id": anna, "pipeline_id": pipeline["id"], "amount": "100"}
    )
    old = await create_deal(
        {"title": "Old", "contact_id": anna, "pipeline_id": pipeline["id"], "amount": "250"},
        at=now() - dt.timedelta(days=30),
    )
    bare = await create_deal(
        {"title": "Bare", "pipeline_id": pipeline["id"], "owner_id": rep, "amount": "1"}
    )  # no contact: no follow-up task is possible
    columns = {c.stage["id"]: c for c in await board.board(pipeline["id"], board.BoardFilters())}
    column = columns[q["id"]]
    assert (column.count, column.totals) == (3, {"RUB": 35100})
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
    await create_deal(
        {"title": "Mine", "pipeline_id": pipeline["id"], "owner_id": rep, "source": "web"}
    )
    await create_deal(
        {"title": "Theirs", "pipeline_id": pipeline["id"], "owner_id": other, "source": "call"}
    )
    await create_deal(
        {"title": "Old", "pipeline_id": pipeline["id"], "owner_id": rep, "source": "web"},
        at=now() - dt.timedelta(days=40),
    )

    async def titles(**kw) -> set[str]:
        columns = await board.board(pipeline["id"], board.BoardFilters(**kw))
        return {card["title"] for c in columns for card in c.cards}

    assert await titles(owner_id=rep) == {"Mine", "Old"}
    assert await titles(source="call") == {"Theirs"}
    assert await titles(since=now() - dt.timedelta(days=30)) == {"Mine", "Theirs"}
    assert await titles(restricted_owner=other) == {"Theirs"}
    assert await board.sources_of(pipeline["id"]) == ["call", "web"]


async def _bulk_deals(
    pipeline: dict, count: int, contact: int, *, currency: str = "RUB", amount: int = 100,
    moment: dt.datetime | None = None, owner: int | None = None,
) -> None:
    """Many open deals in Qualification, written directly (the board is what is measured
    here), all entered at the same moment unless told: ties the keyset order must break."""
    q = pipeline["stages"]["Qualification"]["id"]
    moment = moment or now()
    async with transaction():
        rows = await FunnelDeal.insert(
            *[
                FunnelDeal(
                    title=f"Deal {i}",
                    contact_id=contact,
                    pipeline_id=pipeline["id"],
                    stage_id=q,
                    amount_minor=amount,
                    currency=currency,
                    owner_id=owner,
                    stage_entered_at=moment,
                    created_at=moment,
                    updated_at=moment,
                )
                for i in range(count)
            ]
        ).returning(FunnelDeal.id)
        await FunnelStageHistory.insert(
            *[
                FunnelStageHistory(
                    deal_id=r["id"], pipeline_id=pipeline["id"], to_stage_id=q, entered_at=moment
                )
                for r in rows
            ]
        )


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
    # stages, totals, one page per non-empty column, tasks, contact and owner names
    assert few == many <= 6
    q = pipeline["stages"]["Qualification"]["id"]
    column = next(c for c in columns if c.stage["id"] == q)
    assert column.count == 1000 and len(column.cards) == board.PAGE_SIZE
    assert column.totals == {"RUB": 100_000}
    assert column.next_cursor is not None


async def _all_pages(pipeline, stage, filters) -> list[int]:
    columns = {c.stage["id"]: c for c in await board.board(pipeline["id"], filters)}
    column = columns[stage["id"]]
    ids = [c["id"] for c in column.cards]
    cursor = column.next_cursor
    while cursor is not None:
        page = await board.more_cards(pipeline["id"], stage, filters, cursor)
        assert 0 < len(page.cards) <= board.PAGE_SIZE
        ids += [c["id"] for c in page.cards]
        cursor = page.next_cursor
    return ids


async def test_show_more_pages_cover_a_column_without_overlap_or_gap(pipeline):
    anna = await create_contact({"first_name": "Anna"})
    q = pipeline["stages"]["Qualification"]
    earlier = now() - dt.timedelta(days=2)
    await _bulk_deals(pipeline, 25, anna, moment=earlier)  # 25 entered at one moment: ties
    await _bulk_deals(pipeline, 22, anna)
    rows = await FunnelDeal.select(FunnelDeal.id, FunnelDeal.stage_entered_at).where(
        FunnelDeal.stage_id == q["id"]
    )
    expected = [r["id"] for r in sorted(rows, key=lambda r: (r["stage_entered_at"], r["id"]),
                                        reverse=True)]
    ids = await _all_pages(pipeline, q, board.BoardFilters())
    assert len(ids) == 47 and len(set(ids)) == 47
    assert ids == expected  # most recently moved first, then the newest id


async def test_a_cursor_survives_the_url_and_nonsense_is_refused():
    moment = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)
    cursor = board.Cursor(moment, 42)
    assert board.Cursor.parse(str(cursor)) == cursor
    for bad in ("", "abc", "12", "1-x", "99999999999999999999999-1"):
        with pytest.raises(board.BadCursor):
            board.Cursor.parse(bad)


async def test_sums_are_per_currency_and_filters_apply_to_counts_and_pages(pipeline):
    rep = await make_user("rep@example.com")
    anna = await create_contact({"first_name": "Anna"})
    await _bulk_deals(pipeline, 30, anna, currency="RUB", amount=10_000, owner=rep)
    await _bulk_deals(pipeline, 3, anna, currency="EUR", amount=50_000)
    await _bulk_deals(pipeline, 2, anna, currency="", amount=1)  # the instance currency
    q = pipeline["stages"]["Qualification"]
    columns = {c.stage["id"]: c for c in await board.board(pipeline["id"], board.BoardFilters())}
    column = columns[q["id"]]
    assert column.count == 35
    assert column.totals == {"RUB": 300_002, "EUR": 150_000}
    assert column.total_text == "RUB3,000.02 · €1,500"  # the instance currency first

    mine = board.BoardFilters(owner_id=rep)
    columns = {c.stage["id"]: c for c in await board.board(pipeline["id"], mine)}
    assert (columns[q["id"]].count, columns[q["id"]].totals) == (30, {"RUB": 300_000})
    ids = await _all_pages(pipeline, q, mine)
    owners = {r["owner_id"] for r in await FunnelDeal.select(FunnelDeal.owner_id).where(
        FunnelDeal.id.is_in(ids))}
    assert len(ids) == 30 and owners == {rep}


def test_board_amounts_are_formatted_like_babel_formats_them():
    from rapport_funnel.money import format_money

    # Outside a request the language is the default, English.
    assert format_money(1250050, "RUB") == "RUB12,500.50"
    assert format_money(100000000, "USD") == "$1,000,000"
    assert format_money(5, "EUR") == "€0.05"
