"""A deal's own page: its details and edit form, the move form (works without JavaScript),
its stage history, its activities with a form to log more, and its product lines."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from rapport.api import (
    ActivityError,
    ContactNotFound,
    active_users,
    can_see,
    contact_names,
    get_contact,
    log_activity,
    page,
    requires_permission,
    subject_activities,
    user_names,
)
from rapport.api import gettext as _

from rapport_funnel.deals import (
    SUBJECT,
    add_line_item,
    create_deal,
    history_of,
    line_items_of,
    timeline_contact,
    update_deal,
)
from rapport_funnel.errors import FunnelError, NotFound
from rapport_funnel.lost_reasons import list_reasons
from rapport_funnel.money import instance_currency, parse_amount
from rapport_funnel.pipelines import default_pipeline, get_pipeline, list_pipelines, stages_of
from rapport_funnel.products import get_product, list_products
from rapport_funnel.routes.common import (
    Form,
    int_or_none,
    restriction,
    text,
    user_of,
    visible_deal,
)

DEALS = "funnel.deals"
LOG_KINDS = ("note", "call", "meeting", "task")
EDIT_FIELDS = ("title", "amount", "currency", "expected_close", "source", "owner_id",
               "utm_source", "utm_medium", "utm_campaign")


async def deal_page_response(
    request: Request,
    deal_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    deal = await visible_deal(request, deal_id)
    stages = await stages_of(deal["pipeline_id"])
    activities = await subject_activities(SUBJECT, deal_id, limit=50)
    people = await user_names(
        {deal["owner_id"]} | {a["author"] for a in activities} | {a["assignee"] for a in activities}
    )
    names = await contact_names({deal["contact_id"], deal["company_id"]})
    history = await history_of(deal_id)
    by = await user_names({h["by_user_id"] for h in history})
    return await page(
        request,
        "funnel/deal.html",
        status_code=status,
        deal=deal,
        pipeline=await get_pipeline(deal["pipeline_id"]),
        stages=stages,
        stage=next((s for s in stages if s["id"] == deal["stage_id"]), None),
        history=history,
        history_by=by,
        activities=[a for a in activities if a["kind"] != "deal"],
        people=people,
        contact_name=names.get(deal["contact_id"], ""),
        company_name=names.get(deal["company_id"], ""),
        reasons=await list_reasons(include_inactive=True),
        active_reasons=await list_reasons(),
        owners=await active_users(),
        items=await line_items_of(deal_id),
        products=await list_products(),
        log_kinds=LOG_KINDS,
        errors=errors or {},
        values=values or {},
    )


@get("/funnel/deals/{deal_id:int}", name="funnel:deal", guards=[requires_permission(DEALS)])
async def deal_view(request: Request, deal_id: FromPath[int]) -> Template:
    return await deal_page_response(request, deal_id)


@post("/funnel/deals/{deal_id:int}", name="funnel:deal_edit",
      guards=[requires_permission(DEALS)])
async def deal_edit(request: Request, deal_id: FromPath[int], data: Form) -> Template | Redirect:
    await visible_deal(request, deal_id)
    values = {key: text(data, key) for key in EDIT_FIELDS if key in data}
    try:
        await update_deal(deal_id, values, actor_id=user_of(request)["id"])
    except FunnelError as exc:
        return await deal_page_response(
            request, deal_id, errors=exc.errors, values=values, status=422
        )
    return Redirect(f"/funnel/deals/{deal_id}", status_code=303)


@post("/funnel/deals/{deal_id:int}/activities", name="funnel:deal_log",
      guards=[requires_permission(DEALS)])
async def deal_log(request: Request, deal_id: FromPath[int], data: Form) -> Template | Redirect:
    """Log a note, call, meeting or task on the deal: it shows here and on the contact's
    timeline, linked to the deal."""
    deal = await visible_deal(request, deal_id)
    kind = text(data, "kind")
    body = text(data, "body", 5000)
    errors: dict[str, str] = {}
    contact = timeline_contact(deal)
    if contact is None:
        errors["body"] = _("Link the deal to a contact before logging activities.")
    if kind not in LOG_KINDS:
        errors["kind"] = _("Pick what happened.")
    if not body:
        errors["body"] = _("Write what happened.")
    due = None
    if kind == "task" and text(data, "due"):
        try:
            due = dt.datetime.fromisoformat(text(data, "due")).replace(tzinfo=dt.UTC)
        except ValueError:
            errors["due"] = _("Enter a date as YYYY-MM-DD.")
    if not errors:
        try:
            await log_activity(
                contact, kind, body=body, author_id=user_of(request)["id"],
                subject_type=SUBJECT, subject_id=str(deal_id), due_at=due,
                assignee_id=(deal["owner_id"] or user_of(request)["id"]) if kind == "task"
                else None,
            )
        except ActivityError as exc:
            errors = {"body": next(iter(exc.errors.values()))}
    if errors:
        return await deal_page_response(
            request, deal_id, errors=errors, values={"kind": kind, "body": body}, status=422
        )
    return Redirect(f"/funnel/deals/{deal_id}#activities", status_code=303)


@post("/funnel/deals/{deal_id:int}/items", name="funnel:deal_item",
      guards=[requires_permission(DEALS)])
async def deal_item(request: Request, deal_id: FromPath[int], data: Form) -> Template | Redirect:
    await visible_deal(request, deal_id)
    name = text(data, "item_name", 200)
    quantity = int_or_none(data.get("quantity"))
    price = parse_amount(text(data, "price"))
    product = await get_product(int_or_none(data.get("product_id")) or 0)
    if product is not None:
        # A catalogue product fills what the user left empty: its name and its price.
        name = name or product["name"]
        price = price or product["price_minor"]
    errors: dict[str, str] = {}
    if not name:
        errors["item_name"] = _("Name the product.")
    if quantity is None or quantity <= 0:
        errors["quantity"] = _("Enter a quantity of at least 1.")
    if price is None:
        errors["price"] = _("Enter an amount such as 12500 or 12500.50.")
    if not errors:
        try:
            await add_line_item(deal_id, name, quantity or 1, price or 0,
                                product_id=product["id"] if product else None)
        except FunnelError as exc:
            errors = exc.errors
    if errors:
        return await deal_page_response(request, deal_id, errors=errors, status=422)
    return Redirect(f"/funnel/deals/{deal_id}#items", status_code=303)


@get("/funnel/deals/new", name="funnel:deal_new", guards=[requires_permission(DEALS)])
async def deal_new(
    request: Request,
    contact_id: FromQuery[int | None] = None,
    pipeline_id: FromQuery[int | None] = None,
) -> Template:
    return await _new_form(request, {"contact_id": contact_id, "pipeline_id": pipeline_id}, {})


async def _new_form(
    request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Template:
    contact = None
    if values.get("contact_id"):
        try:
            contact = await get_contact(int(values["contact_id"]))
        except (ContactNotFound, ValueError):
            raise NotFoundException() from None
        if not can_see(contact["owner"], await restriction(request)):
            raise NotFoundException()
    pipelines = await list_pipelines()
    if not values.get("pipeline_id"):
        default = await default_pipeline()
        values["pipeline_id"] = default["id"] if default else None
    return await page(
        request, "funnel/deal_new.html", status_code=status, contact=contact,
        pipelines=pipelines, values=values, errors=errors, currency=instance_currency(),
    )


@post("/funnel/deals", name="funnel:deal_create", guards=[requires_permission(DEALS)])
async def deal_create(request: Request, data: Form) -> Template | Redirect:
    values: dict[str, Any] = {
        key: text(data, key)
        for key in ("title", "amount", "currency", "expected_close", "source", "contact_id",
                    "pipeline_id", "stage_id")
    }
    try:
        deal_id = await create_deal(
            {k: v for k, v in values.items() if v != "" or k == "title"},
            actor_id=user_of(request)["id"],
        )
    except FunnelError as exc:
        return await _new_form(request, values, exc.errors, status=422)
    except NotFound:
        raise NotFoundException() from None
    back = text(data, "back")
    if back.startswith("/funnel/pipelines/") or back.startswith("/contacts/"):
        return Redirect(back, status_code=303)
    return Redirect(f"/funnel/deals/{deal_id}", status_code=303)


ROUTES = [deal_new, deal_create, deal_view, deal_edit, deal_log, deal_item]
