"""Deals: creating, editing, moving between stages, assigning, and merging contacts.

Every change runs in one transaction with its stage-history row, its stage-summary rows
(``rapport_funnel.stage_summary``, what the reports read), its timeline entry and its event.
Moving a deal closes the history row of the stage it leaves (``left_at``, seconds in stage)
and opens one for the stage it enters, so velocity is a plain average and a deal that
goes backwards or is re-opened simply gets another row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.api import (
    ContactNotFound,
    Statement,
    get_contact,
    log_activity,
    publish,
    transaction,
)
from rapport.api import gettext as _

from rapport_funnel.errors import FunnelError, NotFound
from rapport_funnel.events import DealAssigned, DealCreated, DealLost, DealStageChanged, DealWon
from rapport_funnel.money import instance_currency, parse_amount
from rapport_funnel.pipelines import first_working_stage, get_pipeline, get_stage, stages_of
from rapport_funnel.stage_summary import refresh as refresh_summary
from rapport_funnel.tables import (
    IN_PROGRESS,
    LOST,
    WON,
    FunnelDeal,
    FunnelLineItem,
    FunnelLostReason,
    FunnelStage,
    FunnelStageHistory,
)

SUBJECT = "deal"
ACTIVITY_KIND = "deal"  # the timeline entry for creation, moves, wins and losses
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
STATUS_OF = {IN_PROGRESS: "open", WON: "won", LOST: "lost"}
# Fields of a deal copied onto its stage-summary rows (the reports filter on them).
SUMMARY_FIELDS = ("owner_id", "source", "pipeline_id", "created_at")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timeline_contact(deal: dict[str, Any]) -> int | None:
    """The contact whose timeline shows the deal: the person, else the company."""
    return deal.get("contact_id") or deal.get("company_id")


async def get_deal(deal_id: int) -> dict[str, Any]:
    row = await FunnelDeal.select().where(FunnelDeal.id == deal_id).first()
    if row is None:
        raise NotFound(f"deal {deal_id}")
    return row


def _parse_date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise FunnelError({field: _("Enter a date as YYYY-MM-DD.")}) from None


async def _check_contact(contact_id: Any, field: str) -> tuple[int | None, dict[str, Any] | None]:
    if contact_id in (None, ""):
        return None, None
    try:
        contact = await get_contact(int(contact_id))
    except (ContactNotFound, ValueError, TypeError):
        raise FunnelError({field: _("No such contact.")}) from None
    return contact["id"], contact


def clean_values(data: dict[str, Any]) -> dict[str, Any]:
    """The editable fields of a deal from form or API input, checked; raises FunnelError."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if "title" in data:
        title = str(data.get("title") or "").strip()
        if not title:
            errors["title"] = _("Give the deal a title.")
        elif len(title) > 200:
            errors["title"] = _("At most 200 characters.")
        values["title"] = title
    if "amount" in data:
        amount = parse_amount(data.get("amount"))
        if amount is None:
            errors["amount"] = _("Enter an amount such as 12500 or 12500.50.")
        values["amount_minor"] = amount or 0
    if "currency" in data:
        currency = str(data.get("currency") or "").strip().upper() or instance_currency()
        if len(currency) != 3 or not currency.isalpha():
            errors["currency"] = _("Use a three-letter currency code such as RUB.")
        values["currency"] = currency
    if "expected_close" in data:
        try:
            values["expected_close"] = _parse_date(data.get("expected_close"), "expected_close")
        except FunnelError as exc:
            errors.update(exc.errors)
    for key in ("source", *UTM_FIELDS):
        if key in data:
            values[key] = str(data.get(key) or "").strip()[: 120 if key == "source" else 200]
    if "owner_id" in data:
        owner = data.get("owner_id")
        try:
            values["owner_id"] = int(owner) if owner not in (None, "") else None
        except (TypeError, ValueError):
            errors["owner_id"] = _("Pick an owner.")
    if errors:
        raise FunnelError(errors)
    if "expected_close" in values:
        close = values["expected_close"]
        values["expected_close_month"] = close.strftime("%Y-%m") if close else ""
    return values


def parties(contact: dict[str, Any], company_id: int | None) -> tuple[int | None, int | None]:
    """The deal's person and company when ``contact`` is the one picked: a company picked
    as "the contact" is the company; a person brings their company unless one is given."""
    if company_id is None and contact["kind"] == "company":
        return None, contact["id"]
    if company_id is None and contact.get("company"):
        return contact["id"], contact["company"]
    return contact["id"], company_id


async def create_deal(
    data: dict[str, Any],
    *,
    actor_id: int | None = None,
    at: dt.datetime | None = None,
) -> int:
    """Create a deal from ``data`` (title, contact_id and/or company_id, pipeline_id, stage_id,
    owner_id, amount, currency, expected_close, source, utm_*); return its id.

    Without a stage it starts in the pipeline's first working stage; without an owner it
    belongs to the contact's owner, else to whoever creates it.
    """
    values = clean_values({"title": data.get("title", ""), **data})
    values.setdefault("currency", instance_currency())
    errors: dict[str, str] = {}
    contact_id, contact = await _check_contact(data.get("contact_id"), "contact_id")
    company_id, _company = await _check_contact(data.get("company_id"), "company_id")
    if contact is not None:
        contact_id, company_id = parties(contact, company_id)
    try:
        pipeline = await get_pipeline(int(data.get("pipeline_id") or 0))
    except (NotFound, ValueError, TypeError):
        errors["pipeline_id"] = _("Pick a pipeline.")
        raise FunnelError(errors) from None
    stages = await stages_of(pipeline["id"])
    stage = None
    if data.get("stage_id") not in (None, ""):
        stage = next((s for s in stages if str(s["id"]) == str(data["stage_id"])), None)
        if stage is None:
            raise FunnelError({"stage_id": _("Pick a stage of this pipeline.")})
    stage = stage or first_working_stage(stages)
    if errors:
        raise FunnelError(errors)
    if values.get("owner_id") is None:
        values["owner_id"] = (contact or {}).get("owner") or actor_id
    async with transaction():
        deal = await insert_deal(
            values, contact_id=contact_id, company_id=company_id, pipeline_id=pipeline["id"],
            stage=stage, actor_id=actor_id, at=at or now(),
        )
    return deal["id"]


# Fixed statements for creating a deal: every lead from a web form creates one, and
# Piccolo's builder cost several times the inserts themselves. Every column is listed, so
# the row is the one Piccolo's insert wrote.
_NEW_DEAL_COLUMNS = (
    "title", "contact_id", "company_id", "owner_id", "pipeline_id", "stage_id", "status",
    "amount_minor", "currency", "expected_close", "expected_close_month", "source",
    *UTM_FIELDS, "lost_reason_id", "lost_comment", "stage_entered_at", "closed_at",
    "created_by", "created_at", "updated_at",
)
_INSERT_DEAL = Statement(
    f"INSERT INTO funnel_deal ({', '.join(_NEW_DEAL_COLUMNS)})"
    f" VALUES ({', '.join('{}' for _c in _NEW_DEAL_COLUMNS)}) RETURNING id"
)
_INSERT_ENTRY = Statement(
    "INSERT INTO funnel_stage_history (deal_id, pipeline_id, from_stage_id, to_stage_id,"
    " entered_at, left_at, seconds_in_stage, by_user_id)"
    " VALUES ({}, {}, NULL, {}, {}, NULL, NULL, {})"
)


async def insert_deal(
    values: dict[str, Any],
    *,
    contact_id: int | None,
    company_id: int | None,
    pipeline_id: int,
    stage: dict[str, Any],
    actor_id: int | None,
    at: dt.datetime,
) -> dict[str, Any]:
    """Write a checked new deal (``values`` from :func:`clean_values`, owner decided) with
    its history row, summary rows, timeline entry, ``deal.created`` and follow-up task, in
    the caller's transaction; return the deal's row as written (no read back).

    ``stage`` is a stage row of the pipeline (id, name, semantic, followup_days)."""
    status = STATUS_OF[stage["semantic"]]
    deal: dict[str, Any] = {
        "title": values.get("title", ""), "contact_id": contact_id, "company_id": company_id,
        "owner_id": values.get("owner_id"), "pipeline_id": pipeline_id,
        "stage_id": stage["id"], "status": status,
        "amount_minor": values.get("amount_minor", 0), "currency": values.get("currency", ""),
        "expected_close": values.get("expected_close"),
        "expected_close_month": values.get("expected_close_month", ""),
        "source": values.get("source", ""), **{k: values.get(k, "") for k in UTM_FIELDS},
        "lost_reason_id": None, "lost_comment": "", "stage_entered_at": at,
        "closed_at": at if status != "open" else None, "created_by": actor_id,
        "created_at": at, "updated_at": at,
    }
    rows = await _INSERT_DEAL.fetch(*(deal[c] for c in _NEW_DEAL_COLUMNS))
    deal_id = deal["id"] = rows[0]["id"]
    await _INSERT_ENTRY.fetch(deal_id, pipeline_id, stage["id"], at, actor_id)
    await refresh_summary(deal_id, new=True)
    await _timeline(deal, _("Deal created: %(title)s", title=deal["title"]), actor_id, at)
    await publish(
        DealCreated(
            deal_id=deal_id, contact_id=contact_id, company_id=company_id,
            title=deal["title"], pipeline_id=pipeline_id, stage_id=stage["id"],
            owner_id=deal["owner_id"], amount_minor=deal["amount_minor"],
            currency=deal["currency"], source=deal["source"],
        ),
        actor_id,
    )
    await _follow_up(deal, stage, at)
    return deal


async def _timeline(
    deal: dict[str, Any], body: str, actor_id: int | None, at: dt.datetime
) -> None:
    contact = timeline_contact(deal)
    if contact is None:
        return
    await log_activity(
        contact, ACTIVITY_KIND, body=body, author_id=actor_id, occurred_at=at,
        subject_type=SUBJECT, subject_id=str(deal["id"]),
        payload={"deal_id": deal["id"], "stage_id": deal["stage_id"]},
    )


async def _follow_up(deal: dict[str, Any], stage: dict[str, Any], at: dt.datetime) -> None:
    """Entering a stage with a follow-up setting gives the owner a task due in N days."""
    days = stage.get("followup_days")
    contact = timeline_contact(deal)
    if days is None or stage["semantic"] != IN_PROGRESS or contact is None:
        return
    await log_activity(
        contact, "task",
        body=_("Follow up on %(title)s (%(stage)s)", title=deal["title"], stage=stage["name"]),
        subject_type=SUBJECT, subject_id=str(deal["id"]),
        due_at=at + dt.timedelta(days=days), assignee_id=deal["owner_id"], occurred_at=at,
    )


async def move_deal(
    deal_id: int,
    stage_id: int,
    *,
    actor_id: int | None = None,
    lost_reason_id: int | None = None,
    lost_comment: str = "",
    at: dt.datetime | None = None,
) -> bool:
    """Move a deal to another stage of its pipeline; False when it is there already.

    Moving to Lost needs a reason from the admin's list. Moving a closed deal back to a
    working stage re-opens it (closed time and lost reason are cleared).
    """
    moment = at or now()
    async with transaction():
        deal = await get_deal(deal_id)
        try:
            stage = await get_stage(int(stage_id))
        except (NotFound, ValueError, TypeError):
            raise FunnelError({"stage_id": _("Pick a stage of this pipeline.")}) from None
        if stage["pipeline_id"] != deal["pipeline_id"] or stage["archived"]:
            raise FunnelError({"stage_id": _("Pick a stage of this pipeline.")})
        if stage["id"] == deal["stage_id"]:
            return False
        reason = None
        if stage["semantic"] == LOST:
            reason = await _lost_reason(lost_reason_id)
        status = STATUS_OF[stage["semantic"]]
        from_stage = deal["stage_id"]
        await _leave_stage(deal_id, moment)
        await FunnelStageHistory.insert(
            FunnelStageHistory(
                deal_id=deal_id, pipeline_id=deal["pipeline_id"], from_stage_id=deal["stage_id"],
                to_stage_id=stage["id"], entered_at=moment, by_user_id=actor_id,
            )
        )
        await FunnelDeal.update(
            {
                FunnelDeal.stage_id: stage["id"],
                FunnelDeal.status: status,
                FunnelDeal.stage_entered_at: moment,
                FunnelDeal.closed_at: moment if status != "open" else None,
                FunnelDeal.lost_reason_id: reason["id"] if reason else None,
                FunnelDeal.lost_comment: (lost_comment or "").strip()[:2000] if reason else "",
                FunnelDeal.updated_at: moment,
            }
        ).where(FunnelDeal.id == deal_id)
        await refresh_summary(deal_id)
        deal = await get_deal(deal_id)
        contact_id = deal["contact_id"]
        body = _("%(title)s moved to %(stage)s", title=deal["title"], stage=stage["name"])
        if reason:
            body = _(
                "%(title)s lost: %(reason)s", title=deal["title"], reason=reason["name"]
            ) + (f" — {deal['lost_comment']}" if deal["lost_comment"] else "")
        elif status == "won":
            body = _("%(title)s won", title=deal["title"])
        await _timeline(deal, body, actor_id, moment)
        await publish(
            DealStageChanged(
                deal_id=deal_id, contact_id=contact_id, pipeline_id=deal["pipeline_id"],
                from_stage_id=from_stage, to_stage_id=stage["id"], status=status,
            ),
            actor_id,
        )
        if status == "won":
            await publish(
                DealWon(
                    deal_id=deal_id, contact_id=contact_id, owner_id=deal["owner_id"],
                    amount_minor=deal["amount_minor"], currency=deal["currency"],
                ),
                actor_id,
            )
        elif status == "lost":
            await publish(
                DealLost(
                    deal_id=deal_id, contact_id=contact_id, owner_id=deal["owner_id"],
                    reason_id=reason["id"] if reason else None,
                    reason=reason["name"] if reason else "", comment=deal["lost_comment"],
                ),
                actor_id,
            )
        await _follow_up(deal, stage, moment)
    return True


async def _lost_reason(reason_id: Any) -> dict[str, Any]:
    if reason_id in (None, ""):
        raise FunnelError({"lost_reason_id": _("Pick the reason the deal was lost.")})
    try:
        reason = await FunnelLostReason.select().where(
            FunnelLostReason.id == int(reason_id)
        ).first()
    except (TypeError, ValueError):
        reason = None
    if reason is None or not reason["active"]:
        raise FunnelError({"lost_reason_id": _("Pick the reason the deal was lost.")})
    return reason


async def _leave_stage(deal_id: int, at: dt.datetime) -> None:
    """Close the open history row of the deal: when it left and how long it stayed."""
    open_row = (
        await FunnelStageHistory.select(FunnelStageHistory.id, FunnelStageHistory.entered_at)
        .where((FunnelStageHistory.deal_id == deal_id) & FunnelStageHistory.left_at.is_null())
        .first()
    )
    if open_row is None:
        return
    seconds = max(0, int((at - open_row["entered_at"]).total_seconds()))
    await FunnelStageHistory.update(
        {FunnelStageHistory.left_at: at, FunnelStageHistory.seconds_in_stage: seconds}
    ).where(FunnelStageHistory.id == open_row["id"])


async def update_deal(deal_id: int, data: dict[str, Any], *, actor_id: int | None = None) -> None:
    """Change a deal's editable fields; a new owner publishes ``deal.assigned``."""
    values = clean_values(data)
    async with transaction():
        deal = await get_deal(deal_id)
        if not values:
            return
        values["updated_at"] = now()
        await FunnelDeal.update({getattr(FunnelDeal, k): v for k, v in values.items()}).where(
            FunnelDeal.id == deal_id
        )
        if any(k in values and values[k] != deal[k] for k in SUMMARY_FIELDS):
            await refresh_summary(deal_id)
        if "owner_id" in values and values["owner_id"] != deal["owner_id"]:
            await publish(
                DealAssigned(
                    deal_id=deal_id, contact_id=deal["contact_id"],
                    from_owner_id=deal["owner_id"], to_owner_id=values["owner_id"],
                ),
                actor_id,
            )


async def assign_deal(deal_id: int, owner_id: int | None, *, actor_id: int | None = None) -> None:
    await update_deal(deal_id, {"owner_id": owner_id}, actor_id=actor_id)


async def history_of(deal_id: int) -> list[dict[str, Any]]:
    """The deal's stays in stages, oldest first, with the stage names."""
    rows = (
        await FunnelStageHistory.select()
        .where(FunnelStageHistory.deal_id == deal_id)
        .order_by(FunnelStageHistory.entered_at)
        .order_by(FunnelStageHistory.id)
    )
    ids = {r["to_stage_id"] for r in rows} | {r["from_stage_id"] for r in rows}
    ids.discard(None)
    names = {}
    if ids:
        names = {
            s["id"]: s["name"]
            for s in await FunnelStage.select(FunnelStage.id, FunnelStage.name).where(
                FunnelStage.id.is_in(sorted(ids))
            )
        }
    for row in rows:
        row["to_name"] = names.get(row["to_stage_id"], "")
        row["from_name"] = names.get(row["from_stage_id"], "") if row["from_stage_id"] else ""
    return rows


# One fixed statement for the two index ranges (``funnel_deal_contact``,
# ``funnel_deal_company``), each newest first and bounded, merged by UNION: asked as one
# ``contact_id = ? OR company_id = ?`` with ``ORDER BY id DESC LIMIT``, SQLite walked the whole
# table backwards by id instead (31 ms per contact card at 100,000 deals). Written out rather
# than built by the query builder: it runs on every contact card.
_DEAL_COLUMNS = (
    "d.id, d.title, d.status, d.amount_minor, d.currency, d.stage_id, d.owner_id,"
    " s.name AS stage_name FROM funnel_deal d LEFT JOIN funnel_stage s ON s.id = d.stage_id"
)
_DEALS_OF_CONTACT = Statement(
    f"SELECT * FROM (SELECT {_DEAL_COLUMNS} WHERE d.contact_id = {{}}"
    " ORDER BY d.id DESC LIMIT {}) AS by_person"
    f" UNION SELECT * FROM (SELECT {_DEAL_COLUMNS} WHERE d.company_id = {{}}"
    " ORDER BY d.id DESC LIMIT {}) AS by_company"
    " ORDER BY id DESC LIMIT {}"
)


async def deals_of_contact(contact_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """Deals where the contact is the person or the company, newest first."""
    return await _DEALS_OF_CONTACT.fetch(contact_id, limit, contact_id, limit, limit)


async def add_line_item(
    deal_id: int, name: str, quantity: int, price_minor: int, product_id: int | None = None
) -> int:
    """Add a product line (quantity × price) to a deal; the deal's amount becomes the sum of
    its lines."""
    if quantity <= 0:
        raise FunnelError({"quantity": _("Enter a quantity of at least 1.")})
    if price_minor < 0:
        raise FunnelError({"price": _("Enter an amount such as 12500 or 12500.50.")})
    async with transaction():
        await get_deal(deal_id)
        rows = await FunnelLineItem.insert(
            FunnelLineItem(
                deal_id=deal_id, product_id=product_id, name=name.strip()[:200],
                quantity=quantity, price_minor=price_minor,
            )
        ).returning(FunnelLineItem.id)
        items = await FunnelLineItem.select().where(FunnelLineItem.deal_id == deal_id)
        total = sum(i["quantity"] * i["price_minor"] for i in items)
        await FunnelDeal.update(
            {FunnelDeal.amount_minor: total, FunnelDeal.updated_at: now()}
        ).where(FunnelDeal.id == deal_id)
    return rows[0]["id"]


async def line_items_of(deal_id: int) -> list[dict[str, Any]]:
    return (
        await FunnelLineItem.select()
        .where(FunnelLineItem.deal_id == deal_id)
        .order_by(FunnelLineItem.id)
    )


async def move_contact_deals(winner_id: int, loser_id: int) -> None:
    """Contacts merged: the loser's deals (as person or as company) now point at the winner."""
    await FunnelDeal.update({FunnelDeal.contact_id: winner_id}).where(
        FunnelDeal.contact_id == loser_id
    )
    await FunnelDeal.update({FunnelDeal.company_id: winner_id}).where(
        FunnelDeal.company_id == loser_id
    )
