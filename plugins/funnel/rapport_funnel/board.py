"""The kanban board of one pipeline: columns with count and sum, and compact cards.

A board costs a fixed number of queries whatever its size: the stages, the open deals (one
query), the totals per stage (one grouped query), the open tasks of all shown deals (one
query), and the names of their contacts and owners (one query each).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rapport.api import contact_names, open_tasks_of_subjects, user_names

from rapport_funnel.deals import SUBJECT, now
from rapport_funnel.money import format_money
from rapport_funnel.pipelines import stages_of
from rapport_funnel.tables import IN_PROGRESS, FunnelDeal

CLOSED_CARDS = 20  # Won and Lost columns show the latest deals closed in the period


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
    total_minor: int = 0
    cards: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_text(self) -> str:
        """The column's sum in the instance currency."""
        return format_money(self.total_minor)


CARD_COLUMNS = (
    FunnelDeal.id, FunnelDeal.title, FunnelDeal.contact_id, FunnelDeal.company_id,
    FunnelDeal.owner_id, FunnelDeal.stage_id, FunnelDeal.status, FunnelDeal.amount_minor,
    FunnelDeal.currency, FunnelDeal.stage_entered_at, FunnelDeal.expected_close,
    FunnelDeal.closed_at,
)


def _where(query: Any, pipeline_id: int, filters: BoardFilters) -> Any:
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


def _closed_since(filters: BoardFilters) -> dt.datetime:
    return filters.since or now() - dt.timedelta(days=30)


async def board(pipeline_id: int, filters: BoardFilters) -> list[Column]:
    stages = await stages_of(pipeline_id)
    columns = {s["id"]: Column(stage=s) for s in stages}
    open_cards = await _where(
        FunnelDeal.select(*CARD_COLUMNS).where(FunnelDeal.status == "open"), pipeline_id, filters
    ).order_by(FunnelDeal.stage_entered_at)
    closed_since = _closed_since(filters)
    closed_cards = await _where(
        FunnelDeal.select(*CARD_COLUMNS).where(
            (FunnelDeal.status != "open") & (FunnelDeal.closed_at >= closed_since)
        ),
        pipeline_id,
        filters,
    ).order_by(FunnelDeal.closed_at, ascending=False).limit(CLOSED_CARDS * 2)
    sums = await _stage_totals(pipeline_id, filters, closed_since)
    for stage_id, (count, total) in sums.items():
        if stage_id in columns:
            columns[stage_id].count = count
            columns[stage_id].total_minor = total
    cards = list(open_cards)
    per_closed: dict[int, int] = {}
    for card in closed_cards:
        if per_closed.get(card["stage_id"], 0) < CLOSED_CARDS:
            per_closed[card["stage_id"]] = per_closed.get(card["stage_id"], 0) + 1
            cards.append(card)
    await decorate(cards, {s["id"]: s for s in stages})
    for card in cards:
        if card["stage_id"] in columns:
            columns[card["stage_id"]].cards.append(card)
    return list(columns.values())


async def _stage_totals(
    pipeline_id: int, filters: BoardFilters, closed_since: dt.datetime
) -> dict[int, tuple[int, int]]:
    from piccolo.query.functions.aggregate import Count, Sum

    rows = await _where(
        FunnelDeal.select(
            FunnelDeal.stage_id,
            Count(FunnelDeal.id, alias="n"),
            Sum(FunnelDeal.amount_minor, alias="total"),
        ).where((FunnelDeal.status == "open") | (FunnelDeal.closed_at >= closed_since)),
        pipeline_id,
        filters,
    ).group_by(FunnelDeal.stage_id)
    return {r["stage_id"]: (int(r["n"]), int(r["total"] or 0)) for r in rows}


async def decorate(cards: list[dict[str, Any]], stages: dict[int, dict[str, Any]]) -> None:
    """Add contact and owner names, the next task, days in stage and the warning marks."""
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


async def sources_of(pipeline_id: int) -> list[str]:
    """The sources deals of a pipeline came from, for the filter."""
    rows = await FunnelDeal.select(FunnelDeal.source).where(
        (FunnelDeal.pipeline_id == pipeline_id) & (FunnelDeal.source != "")
    ).distinct().order_by(FunnelDeal.source)
    return [r["source"] for r in rows]


async def no_next_step(owner_id: int) -> list[dict[str, Any]]:
    """The owner's open deals without an open task, the longest idle first."""
    deals = await FunnelDeal.select(*CARD_COLUMNS).where(
        (FunnelDeal.owner_id == owner_id) & (FunnelDeal.status == "open")
    ).order_by(FunnelDeal.stage_entered_at)
    tasks = await open_tasks_of_subjects(SUBJECT, [d["id"] for d in deals])
    return [d for d in deals if str(d["id"]) not in tasks]
