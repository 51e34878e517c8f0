"""The kanban board of one pipeline: columns with count and per-currency sums, and a page of
cards per column; the rest of a column is read page by page as one scrolls.

Order within a column: working stages show the most recently moved deals first (newest
``stage_entered_at``, then newest id), so a card dropped on a column belongs at its top and a
new deal shows at once; Won and Lost show the latest closed first (``closed_at``). Pages are
keyset pages on that order (``Cursor``), never OFFSET: each page is an index range of
``funnel_deal_column`` / ``funnel_deal_closed_column`` (migration ``funnel_0005_board_columns``).

A board costs a fixed number of queries whatever its size: the stages, one page query per
stage, one grouped query for every column's count and sums, the open tasks of all shown deals
(one query), and the names of their contacts and owners (one query each).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rapport.api import contact_names, open_tasks_of_subjects, user_names

from rapport_funnel.deals import SUBJECT, now
from rapport_funnel.money import format_money, instance_currency
from rapport_funnel.pipelines import stages_of
from rapport_funnel.tables import IN_PROGRESS, FunnelDeal

PAGE_SIZE = 20  # cards per column up front and per "show more"
CLOSED_DAYS = 30  # Won and Lost show the deals closed in the period (default: 30 days)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class BadCursor(ValueError):
    """A page cursor that this board did not write."""


@dataclass(frozen=True)
class Cursor:
    """Where a page of a column ended: the last card's order value and id.

    Written into the "show more" URL as ``<microseconds since 1970>-<id>`` (URL-safe, exact)."""

    at: dt.datetime
    deal_id: int

    def __str__(self) -> str:
        delta = self.at - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}-{self.deal_id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        try:
            micros, deal_id = text.rsplit("-", 1)
            return cls(_EPOCH + dt.timedelta(microseconds=int(micros)), int(deal_id))
        except (ValueError, OverflowError):
            raise BadCursor(text) from None


@dataclass
class BoardFilters:
    owner_id: int | None = None
    source: str = ""
    since: dt.datetime | None = None  # deals created since, when set
    restricted_owner: int | None = None  # record visibility: only this owner's and unowned


@dataclass
class Column:
    stage: dict[str, Any]
    count: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # currency code → minor units
    cards: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: Cursor | None = None  # None: every card of the column is shown

    @property
    def total_minor(self) -> int:
        """The plain sum of every currency's amounts (meaningful with one currency only)."""
        return sum(self.totals.values())

    @property
    def total_text(self) -> str:
        """The column's sums, one per currency: ``"12 400 ₽ · €3 000"``. The instance currency
        first, then the others by code; an empty column shows a zero in the instance currency."""
        home = instance_currency()
        if not self.totals:
            return format_money(0, home)
        codes = sorted(self.totals, key=lambda code: (code != home, code))
        return " · ".join(format_money(self.totals[code], code) for code in codes)


CARD_COLUMNS = (
    FunnelDeal.id, FunnelDeal.title, FunnelDeal.contact_id, FunnelDeal.company_id,
    FunnelDeal.owner_id, FunnelDeal.stage_id, FunnelDeal.status, FunnelDeal.amount_minor,
    FunnelDeal.currency, FunnelDeal.stage_entered_at, FunnelDeal.expected_close,
    FunnelDeal.closed_at,
)


def _where(query: Any, pipeline_id: int | None, filters: BoardFilters) -> Any:
    if pipeline_id is not None:
        query = query.where(FunnelDeal.pipeline_id == pipeline_id)
    if filters.owner_id is not None:
        query = query.where(FunnelDeal.owner_id == filters.owner_id)
    if filters.source:
        query = query.where(FunnelDeal.source == filters.source)
    if filters.since is not None:
        query = query.where(FunnelDeal.created_at >= filters.since)
    if filters.restricted_owner is not None:
        query = query.where(
            (FunnelDeal.owner_id == filters.restricted_owner) | FunnelDeal.owner_id.is_null()
        )
    return query


def closed_since(filters: BoardFilters) -> dt.datetime:
    """Won and Lost show deals closed since this moment: the period filter's, else 30 days."""
    return filters.since or now() - dt.timedelta(days=CLOSED_DAYS)


def is_working(stage: dict[str, Any]) -> bool:
    return stage.get("semantic") == IN_PROGRESS


def _order_column(stage: dict[str, Any]) -> Any:
    return FunnelDeal.stage_entered_at if is_working(stage) else FunnelDeal.closed_at


def cursor_of(stage: dict[str, Any], card: dict[str, Any]) -> Cursor:
    """The cursor after ``card`` in its column's order."""
    return Cursor(card["stage_entered_at"] if is_working(stage) else card["closed_at"], card["id"])


async def column_page(
    pipeline_id: int,
    stage: dict[str, Any],
    filters: BoardFilters,
    after: Cursor | None = None,
    *,
    size: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of a column's cards (not yet decorated) after ``after``, and the cursor of the
    next page (None when this was the last)."""
    order = _order_column(stage)
    # The stage alone says the pipeline and the status (a deal's status follows its stage):
    # asking for them too let SQLite pick an index of those (0.1 s for a Won column at
    # 100,000 deals) over the column's own.
    query = FunnelDeal.select(*CARD_COLUMNS).where(FunnelDeal.stage_id == stage["id"])
    if not is_working(stage):
        query = query.where(FunnelDeal.closed_at >= closed_since(filters))
    if after is not None:
        query = query.where(
            (order < after.at) | ((order == after.at) & (FunnelDeal.id < after.deal_id))
        )
    rows = await _where(query, None, filters).order_by(
        order, ascending=False
    ).order_by(FunnelDeal.id, ascending=False).limit(size + 1)
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, cursor_of(stage, rows[-1])


async def board(pipeline_id: int, filters: BoardFilters) -> list[Column]:
    """Every column of the pipeline with its count, sums and first page of decorated cards."""
    stages = await stages_of(pipeline_id)
    columns = [Column(stage=s) for s in stages]
    await fill_totals(pipeline_id, filters, columns)
    cards: list[dict[str, Any]] = []
    for column in columns:
        if column.count:
            column.cards, column.next_cursor = await column_page(
                pipeline_id, column.stage, filters
            )
            cards.extend(column.cards)
    await decorate(cards, {s["id"]: s for s in stages})
    return columns


def _filter_sql(filters: BoardFilters) -> tuple[str, list[Any]]:
    """The board's filters as SQL conditions (for the grouped totals, written by hand)."""
    sql, args = "", []
    if filters.owner_id is not None:
        sql += " AND owner_id = {}"
        args.append(filters.owner_id)
    if filters.source:
        sql += " AND source = {}"
        args.append(filters.source)
    if filters.since is not None:
        sql += " AND created_at >= {}"
        args.append(filters.since)
    if filters.restricted_owner is not None:
        sql += " AND (owner_id = {} OR owner_id IS NULL)"
        args.append(filters.restricted_owner)
    return sql, args


async def fill_totals(pipeline_id: int, filters: BoardFilters, columns: list[Column]) -> None:
    """Set every column's count and per-currency sums with one grouped query. Deals without a
    currency are in the instance's currency and are summed with it.

    Written as the union of the pipeline's open deals and those closed in the period: each is
    a range of the covering index ``funnel_deal_totals``. Asked as one ``status = 'open' OR
    closed_at >= …`` condition, SQLite walked a whole column index in GROUP BY order instead
    (0.3 s at 100,000 deals)."""
    where, args = _filter_sql(filters)
    sql = (
        "SELECT stage_id, currency, COUNT(*) AS n, SUM(amount_minor) AS total FROM ("
        " SELECT stage_id, currency, amount_minor FROM funnel_deal"
        f" WHERE pipeline_id = {{}} AND status = 'open'{where}"
        " UNION ALL"
        " SELECT stage_id, currency, amount_minor FROM funnel_deal"
        f" WHERE pipeline_id = {{}} AND status IN ('won', 'lost') AND closed_at >= {{}}{where}"
        ") AS shown GROUP BY stage_id, currency"
    )
    rows = await FunnelDeal.raw(
        sql, pipeline_id, *args, pipeline_id, closed_since(filters), *args
    )
    home = instance_currency()
    by_stage = {c.stage["id"]: c for c in columns}
    for row in rows:
        column = by_stage.get(row["stage_id"])
        if column is None:
            continue
        code = (row["currency"] or home).upper()
        column.count += int(row["n"])
        column.totals[code] = column.totals.get(code, 0) + int(row["total"] or 0)


async def decorate(cards: list[dict[str, Any]], stages: dict[int, dict[str, Any]]) -> None:
    """Add contact and owner names, the next task, days in stage and the warning marks."""
    if not cards:
        return
    tasks = await open_tasks_of_subjects(SUBJECT, [c["id"] for c in cards])
    contacts = await contact_names(
        {c["contact_id"] for c in cards} | {c["company_id"] for c in cards}
    )
    owners = await user_names({c["owner_id"] for c in cards})
    moment = now()
    for card in cards:
        stage = stages.get(card["stage_id"], {})
        card["contact_name"] = contacts.get(card["contact_id"]) or ""
        card["company_name"] = contacts.get(card["company_id"]) or ""
        card["owner_name"] = owners.get(card["owner_id"]) or ""
        card["amount_text"] = format_money(card["amount_minor"], card["currency"])
        next_tasks = tasks.get(str(card["id"]), [])
        card["next_task"] = next_tasks[0] if next_tasks else None
        days = max(0, (moment - card["stage_entered_at"]).days)
        card["days_in_stage"] = days
        is_open = card["status"] == "open" and stage.get("semantic") == IN_PROGRESS
        due = card["next_task"]["due_at"] if card["next_task"] else None
        card["overdue"] = bool(is_open and due is not None and due < moment)
        card["no_next_step"] = bool(is_open and card["next_task"] is None)
        idle = stage.get("idle_days")
        card["rotting"] = bool(is_open and idle is not None and days > idle)


async def more_cards(
    pipeline_id: int, stage: dict[str, Any], filters: BoardFilters, after: Cursor
) -> Column:
    """The next page of one column after ``after``: a column holding only those cards (its
    count and sums are not read)."""
    column = Column(stage=stage)
    column.cards, column.next_cursor = await column_page(pipeline_id, stage, filters, after)
    await decorate(column.cards, {stage["id"]: stage})
    return column


async def card_of(deal_id: int, stage: dict[str, Any]) -> dict[str, Any] | None:
    """One deal as a decorated card (after a move)."""
    row = await FunnelDeal.select(*CARD_COLUMNS).where(FunnelDeal.id == deal_id).first()
    if row is not None:
        await decorate([row], {stage["id"]: stage})
    return row


# A loose index scan of ``funnel_deal_source``: one index seek per distinct source, where
# ``SELECT DISTINCT`` read every deal of the pipeline (0.25 s at 100,000 deals, on every board).
_SOURCES_SQL = (
    "WITH RECURSIVE found(source) AS ("
    " SELECT MIN(source) FROM funnel_deal WHERE pipeline_id = {} AND source > ''"
    " UNION ALL"
    " SELECT (SELECT MIN(d.source) FROM funnel_deal d"
    "  WHERE d.pipeline_id = {} AND d.source > found.source)"
    " FROM found WHERE found.source IS NOT NULL"
    ") SELECT source FROM found WHERE source IS NOT NULL"
)


async def sources_of(pipeline_id: int) -> list[str]:
    """The sources deals of a pipeline came from, for the filter, in order."""
    rows = await FunnelDeal.raw(_SOURCES_SQL, pipeline_id, pipeline_id)
    return [r["source"] for r in rows]


async def no_next_step(owner_id: int) -> list[dict[str, Any]]:
    """The owner's open deals without an open task, the longest idle first."""
    deals = await FunnelDeal.select(*CARD_COLUMNS).where(
        (FunnelDeal.owner_id == owner_id) & (FunnelDeal.status == "open")
    ).order_by(FunnelDeal.stage_entered_at)
    tasks = await open_tasks_of_subjects(SUBJECT, [d["id"] for d in deals])
    return [d for d in deals if str(d["id"]) not in tasks]
