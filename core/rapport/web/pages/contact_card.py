"""Pages: the client card, archiving and merging.

The card gathers the contact, the first timeline page and what enabled plugins contribute;
a plugin's panel or action that raises arrives as a :class:`SlotError` and is shown as an
error box in its place, so one broken plugin never takes the card down.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.activities.tables import Activity
from rapport.contacts.custom_fields_store import defined_fields
from rapport.contacts.listing import people_of
from rapport.contacts.merge import MergeError, merge_contacts
from rapport.contacts.phones import format_international
from rapport.contacts.tables import Contact
from rapport.web.i18n import gettext as _
from rapport.web.pages.contact_common import (
    ARCHIVE,
    EMAIL_LABELS,
    MERGE,
    PHONE_LABELS,
    Form,
    abilities,
    form_text,
    require,
    user_directory,
    user_of,
    visible_contact,
)
from rapport.web.pages.contact_timeline import LogForm, log_form_context, timeline_page
from rapport.web.rendering import page, request_restriction
from rapport.web.slots import CardPanel, ContactAction, SlotError, call_slot


def _label(labels: dict[str, str], value: str) -> str:
    return _(labels[value]) if value in labels else value


def channels(contact: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Emails and phones with what the links need: ``tel:`` takes E.164, people read the
    international format."""
    return {
        "emails": [
            {
                "href": "mailto:" + e["email"],
                "text": e["email"],
                "label": _label(EMAIL_LABELS, e["label"]),
            }
            for e in contact["emails"]
        ],
        "phones": [
            {
                "href": "tel:" + p["e164"],
                "text": format_international(p["e164"]),
                "label": _label(PHONE_LABELS, p["label"]),
            }
            for p in contact["phones"]
        ],
    }


async def custom_values(contact: dict[str, Any]) -> list[dict[str, Any]]:
    """Custom fields in the administrators' order, labelled; values kept raw for filters."""
    fields = await defined_fields()
    shown = []
    for key, definition in fields.items():
        value = contact["custom"].get(key)
        if value is None or value == "":
            continue
        if definition.type == "date":
            value = _as_date(value)
        shown.append(
            {"key": key, "label": definition.label, "type": definition.type, "value": value}
        )
    return shown


def _as_date(value: Any) -> Any:
    """Stored as ISO text; a date object lets the template format it for the locale."""
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return value


async def plugin_parts(request: Request, contact: dict[str, Any]) -> dict[str, list[Any]]:
    panels = await call_slot("contact_card_panels", contact=contact, request=request)
    actions = await call_slot("contact_actions", contact=contact, request=request)
    return {
        "panels": [p for p in panels if isinstance(p, CardPanel | SlotError)],
        "actions": [a for a in actions if isinstance(a, ContactAction | SlotError)],
    }


async def card_page(
    request: Request,
    contact: dict[str, Any],
    *,
    log: LogForm | None = None,
    before: str | None = None,
    status_code: int = 200,
) -> Template:
    contact_id = contact["id"]
    restricted = await request_restriction(request)
    people = await people_of(contact_id, restricted) if contact["kind"] == "company" else []
    users = await user_directory(request)
    owner = users.names.get(contact["owner"])
    history = await timeline_page(contact_id, before, users.names)
    form = log or LogForm(assignee_id=str(user_of(request)["id"]))
    return await page(
        request,
        "contacts/card.html",
        status_code=status_code,
        channels=channels(contact),
        owner_name=owner,
        custom=await custom_values(contact),
        people=people,
        items=history.items,
        before=history.before,
        older=before is not None,
        can=await abilities(request),
        **await plugin_parts(request, contact),
        **await log_form_context(request, contact, form, users.choices),
    )


@get("/contacts/{contact_id:int}", name="contact-card")
async def contact_card(
    request: Request, contact_id: FromPath[int], before: FromQuery[str] = ""
) -> Template:
    """``before`` is the no-JavaScript way down the timeline: the card from that point."""
    contact = await visible_contact(request, contact_id)
    return await card_page(request, contact, before=before or None)


@post("/contacts/{contact_id:int}/archive", name="contact-archive")
async def archive(request: Request, contact_id: FromPath[int], data: Form) -> Redirect:
    """``archived=1`` archives, ``archived=0`` restores."""
    from rapport.contacts.service import archive_contact

    await visible_contact(request, contact_id)
    await require(request, ARCHIVE)
    await archive_contact(
        contact_id, form_text(data, "archived") != "0", actor_id=int(user_of(request)["id"])
    )
    return Redirect(f"/contacts/{contact_id}", status_code=303)


# --- merging ------------------------------------------------------------------------------------


async def _candidates(request: Request, contact: dict[str, Any], q: str) -> list[dict[str, Any]]:
    """Contacts of the same kind the user may see, found by the global search."""
    from rapport.web.pages.search import find

    hits = await find(request, q, limit=20)
    return [h for h in hits if h["id"] != contact["id"] and h["kind"] == contact["kind"]]


async def _summary(contact: dict[str, Any]) -> dict[str, Any]:
    activities = await Activity.count().where(Activity.contact == contact["id"])
    people = 0
    if contact["kind"] == "company":
        people = await Contact.count().where(Contact.company == contact["id"])
    return {**contact, **channels(contact), "activity_count": activities, "people_count": people}


async def merge_page(
    request: Request,
    contact: dict[str, Any],
    *,
    q: str = "",
    other: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    return await page(
        request,
        "contacts/merge.html",
        status_code=status_code,
        contact=await _summary(contact),
        other=await _summary(other) if other else None,
        q=q,
        candidates=await _candidates(request, contact, q) if q.strip() and not other else [],
        error=error,
    )


@get("/contacts/{contact_id:int}/merge", name="contact-merge")
async def merge_form(
    request: Request, contact_id: FromPath[int], q: FromQuery[str] = "", other: FromQuery[int] = 0
) -> Template:
    """Step one finds the duplicate by search; step two shows both and asks to confirm."""
    contact = await visible_contact(request, contact_id)
    await require(request, MERGE)
    chosen = await visible_contact(request, other) if other else None
    return await merge_page(request, contact, q=q[:200], other=chosen)


@post("/contacts/{contact_id:int}/merge")
async def merge(request: Request, contact_id: FromPath[int], data: Form) -> Template | Redirect:
    """This contact wins: the chosen one's channels, tags and history move here."""
    contact = await visible_contact(request, contact_id)
    await require(request, MERGE)
    other_id = form_text(data, "other")
    if not other_id.isdigit():
        return await merge_page(
            request, contact, status_code=400, error=_("Pick the contact to merge into this one.")
        )
    other = await visible_contact(request, int(other_id))
    try:
        await merge_contacts(contact_id, other["id"], actor_id=int(user_of(request)["id"]))
    except MergeError as exc:
        message = (
            _("A person and a company cannot be merged.")
            if "person and a company" in str(exc)
            else _("These contacts cannot be merged: one of them was merged already.")
            if "already" in str(exc)
            else _("A contact cannot be merged into itself.")
        )
        return await merge_page(request, contact, other=other, error=message, status_code=409)
    return Redirect(f"/contacts/{contact_id}", status_code=303)


ROUTES = [contact_card, archive, merge_form, merge]
