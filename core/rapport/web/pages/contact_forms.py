"""Pages: creating and editing a contact, with the duplicate warning.

Whatever goes wrong — a bad field, a duplicate, someone else saving first — the form comes
back with everything the user typed and the reason next to the field, so nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.contacts.custom_fields import CustomField
from rapport.contacts.custom_fields_store import defined_fields
from rapport.contacts.dedupe import DuplicateContact, DuplicateMatch
from rapport.contacts.listing import companies_named, company_choices
from rapport.contacts.merge import MergeError, merge_contacts
from rapport.contacts.service import create_contact, update_contact
from rapport.contacts.tables import Contact
from rapport.contacts.validation import ValidationError, clean_contact
from rapport.db.transaction import transaction
from rapport.runtime import current
from rapport.users.visibility import can_see
from rapport.web.i18n import gettext as _
from rapport.web.pages.contact_common import (
    EDIT,
    EMAIL_LABELS,
    MERGE,
    PHONE_LABELS,
    Form,
    abilities,
    field_message,
    form_text,
    require,
    user_choices,
    user_of,
    visible_contact,
)
from rapport.web.rendering import fragment, page, request_restriction

MIN_ROWS = 2
# "Acme (#12)": how the company list names one of several companies sharing a name.
_PICKED = re.compile(r"\(#(\d+)\)\s*$")
MAX_ROWS = 20
ADDRESS = ("street", "city", "region", "postcode", "country")


@dataclass
class FormValues:
    """What the form shows: strings exactly as typed, so a re-shown form loses nothing."""

    kind: str = "person"
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    company: str = ""
    # The linked company as loaded, so an unchanged field keeps it even if names repeat.
    company_id: str = ""
    company_label: str = ""
    position: str = ""
    street: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""
    source: str = ""
    owner_id: str = ""
    tags: str = ""
    emails: list[tuple[str, str]] = field(default_factory=list)
    phones: list[tuple[str, str]] = field(default_factory=list)
    custom: dict[str, str] = field(default_factory=dict)
    version: str = ""

    def padded(self, extra_email: int = 0, extra_phone: int = 0) -> FormValues:
        """Add empty rows: always one spare, at least two, more on "Add another"."""
        self.emails = _pad(self.emails, "work", extra_email)
        self.phones = _pad(self.phones, "mobile", extra_phone)
        return self


def _pad(rows: list[tuple[str, str]], label: str, extra: int) -> list[tuple[str, str]]:
    filled = [r for r in rows if r[0].strip()]
    wanted = min(MAX_ROWS, max(MIN_ROWS, len(filled) + 1 + extra))
    kept = rows[: max(wanted, len(filled))]
    return kept + [("", label)] * (wanted - len(kept))


def _rows(data: dict[str, Any], prefix: str, default_label: str) -> list[tuple[str, str]]:
    """``email-0``/``email-0-label`` … as typed, in index order (gaps closed)."""
    indexes = sorted(
        int(key[len(prefix) + 1 :])
        for key in data
        if key.startswith(prefix + "-") and key[len(prefix) + 1 :].isdigit()
    )
    return [
        (
            form_text(data, f"{prefix}-{i}", 300),
            form_text(data, f"{prefix}-{i}-label", 40) or default_label,
        )
        for i in indexes[:MAX_ROWS]
    ]


def values_from_form(data: dict[str, Any], fields: dict[str, CustomField]) -> FormValues:
    kind = form_text(data, "kind")
    return FormValues(
        kind=kind if kind in ("person", "company") else "person",
        **{
            key: form_text(data, key, 400)
            for key in (
                "first_name",
                "last_name",
                "name",
                "company",
                "company_id",
                "company_label",
                "position",
                *ADDRESS,
                "source",
                "owner_id",
                "tags",
                "version",
            )
        },
        emails=_rows(data, "email", "work"),
        phones=_rows(data, "phone", "mobile"),
        custom={key: form_text(data, f"custom-{key}", 1000) for key in fields},
    )


def values_from_contact(contact: dict[str, Any]) -> FormValues:
    custom = {k: _custom_text(v) for k, v in contact["custom"].items()}
    company = contact["company_name"] or ""
    return FormValues(
        kind=contact["kind"],
        first_name=contact["first_name"],
        last_name=contact["last_name"],
        name=contact["name"] if contact["kind"] == "company" else "",
        company=company,
        company_id=str(contact["company"] or ""),
        company_label=company,
        position=contact["position"],
        **{key: contact[key] for key in ADDRESS},
        source=contact["source"],
        owner_id=str(contact["owner"] or ""),
        tags=", ".join(contact["tags"]),
        emails=[(e["email"], e["label"]) for e in contact["emails"]],
        phones=[(p["raw"], p["label"]) for p in contact["phones"]],
        custom=custom,
        version=_version(contact),
    )


def _custom_text(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return "" if value is None else str(value)


def _version(contact: dict[str, Any]) -> str:
    return contact["updated_at"].astimezone(dt.UTC).isoformat()


async def service_data(
    values: FormValues, *, creating: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """The service's input for what the form holds, plus errors only the page can find (the
    company is typed by name)."""
    data: dict[str, Any] = {
        "kind": values.kind,
        **{key: getattr(values, key) for key in ADDRESS},
        "source": values.source,
        "owner_id": values.owner_id or None,
        "tags": [t.strip() for t in values.tags.split(",") if t.strip()],
        "emails": [{"value": v, "label": label} for v, label in values.emails],
        "phones": [{"value": v, "label": label} for v, label in values.phones],
        "custom": {k: v for k, v in values.custom.items() if v != "" or not creating},
    }
    errors: dict[str, str] = {}
    if values.kind == "person":
        data.update(
            first_name=values.first_name,
            last_name=values.last_name,
            position=values.position,
            company_id=None,
        )
        if values.company:
            data["company_id"], problem = await _company_id(values)
            if problem:
                errors["company"] = problem
    else:
        data.update(name=values.name, first_name="", last_name="", position="", company_id=None)
    data["custom"] = {k: (v if v != "" else None) for k, v in data["custom"].items()}
    return data, errors


async def _company_id(values: FormValues) -> tuple[int | None, str | None]:
    """The company the typed text names: a pick from the list ("Acme (#12)"), the company
    the contact already had, or the one active company with exactly that name."""
    picked = _PICKED.search(values.company)
    if picked:
        return int(picked.group(1)), None
    if values.company == values.company_label and values.company_id.isdigit():
        return int(values.company_id), None
    found = await companies_named(values.company)
    if len(found) == 1:
        return found[0]["id"], None
    if not found:
        return None, _(
            "There is no company with this name. Pick one from the list or create the "
            "company first."
        )
    return None, _(
        "Several companies have this name; open the right one and add the person from there."
    )


def field_errors(errors: dict[str, str]) -> dict[str, str]:
    """Service error keys (``emails.1``, ``company_id``) → the form's field ids, translated."""
    mapped: dict[str, str] = {}
    for key, message in errors.items():
        text = field_message(key, message)
        if key.startswith(("emails.", "phones.")):
            channel, _sep, index = key.partition(".")
            mapped[f"{channel[:-1]}-{index}"] = text
        elif key.startswith("custom."):
            mapped["custom-" + key.removeprefix("custom.")] = text
        elif key == "company_id":
            mapped["company"] = text
        else:
            mapped[key] = text
    return mapped


async def _duplicates(request: Request, matches: list[DuplicateMatch]) -> list[dict[str, Any]]:
    """The matches as the warning shows them: a contact the user may not see is mentioned
    without its name, so the warning cannot be used to read other reps' clients."""
    restricted = await request_restriction(request)
    ids = sorted({m.contact_id for m in matches})
    rows = {
        r["id"]: r
        for r in await Contact.select(Contact.id, Contact.owner, Contact.kind).where(
            Contact.id.is_in(ids)
        )
    }
    shown: dict[int, dict[str, Any]] = {}
    for match in matches:
        row = rows.get(match.contact_id)
        if row is None:
            continue
        entry = shown.setdefault(
            match.contact_id,
            {
                "id": match.contact_id,
                "name": match.name,
                "kind": row["kind"],
                "archived": match.archived,
                "visible": can_see(row["owner"], restricted),
                "channels": [],
            },
        )
        entry["channels"].append((match.channel, match.value))
    return list(shown.values())


async def render_form(
    request: Request,
    values: FormValues,
    *,
    contact: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    duplicates: list[dict[str, Any]] | None = None,
    conflict: bool = False,
    form_error: str | None = None,
    status_code: int = 200,
) -> Template:
    return await page(
        request,
        "contacts/form.html",
        status_code=status_code,
        values=values,
        contact=contact,
        errors=errors or {},
        duplicates=duplicates or [],
        conflict=conflict,
        form_error=form_error,
        fields=list((await defined_fields()).values()),
        owners=await user_choices(),
        email_labels=EMAIL_LABELS,
        phone_labels=PHONE_LABELS,
        can=await abilities(request),
    )


def _extra_rows(data: dict[str, Any]) -> tuple[int, int]:
    add = form_text(data, "add")
    return int(add == "email"), int(add == "phone")


@get("/contacts/new", name="contact-new")
async def new_contact(
    request: Request, kind: FromQuery[str] = "person", company: FromQuery[int] = 0
) -> Template:
    """``?kind=company`` starts a company; ``?company=ID`` a person of that company."""
    await require(request, EDIT)
    values = FormValues(
        kind=kind if kind in ("person", "company") else "person",
        owner_id=str(user_of(request)["id"]),
    )
    if company:
        firm = await visible_contact(request, company)
        if firm["kind"] == "company":
            values.company = values.company_label = firm["name"]
            values.company_id = str(firm["id"])
    return await render_form(request, values.padded())


@post("/contacts/new")
async def create_contact_page(request: Request, data: Form) -> Template | Redirect:
    await require(request, EDIT)
    fields = await defined_fields()
    values = values_from_form(data, fields)
    if form_text(data, "add"):
        return await render_form(request, values.padded(*_extra_rows(data)))
    service, errors = await service_data(values, creating=True)
    if errors:
        errors = await _service_errors(service) | errors
        return await render_form(request, values.padded(), errors=errors, status_code=400)
    merge_into = await _merge_target(request, data)
    allow = form_text(data, "allow_duplicate") == "1" or merge_into is not None
    actor = int(user_of(request)["id"])
    try:
        async with transaction():
            contact_id = await create_contact(service, actor_id=actor, allow_duplicate=allow)
            if merge_into is not None:
                await merge_contacts(merge_into, contact_id, actor_id=actor)
                contact_id = merge_into
    except ValidationError as exc:
        return await render_form(
            request, values.padded(), errors=field_errors(exc.errors), status_code=400
        )
    except DuplicateContact as exc:
        return await render_form(
            request,
            values.padded(),
            duplicates=await _duplicates(request, exc.matches),
            status_code=409,
        )
    except MergeError:
        return await render_form(
            request,
            values.padded(),
            status_code=409,
            form_error=_("These two contacts cannot be merged (a person and a company)."),
        )
    return Redirect(f"/contacts/{contact_id}", status_code=303)


async def _service_errors(service: dict[str, Any]) -> dict[str, str]:
    """The service's complaints about the rest of the form, so that when the page found a
    problem of its own (the company) the user still sees every other one at once."""
    try:
        await clean_contact(service, region=current().settings.phone_region)
    except ValidationError as exc:
        return field_errors(exc.errors)
    return {}


async def _merge_target(request: Request, data: dict[str, Any]) -> int | None:
    """The contact the user chose to merge the new record into, checked like any other."""
    target = form_text(data, "merge_into")
    if not target.isdigit():
        return None
    await require(request, MERGE)
    await visible_contact(request, int(target))
    return int(target)


@get("/contacts/{contact_id:int}/edit", name="contact-edit")
async def edit_contact(request: Request, contact_id: FromPath[int]) -> Template:
    contact = await visible_contact(request, contact_id)
    await require(request, EDIT)
    return await render_form(request, values_from_contact(contact).padded(), contact=contact)


@post("/contacts/{contact_id:int}/edit")
async def update_contact_page(
    request: Request, contact_id: FromPath[int], data: Form
) -> Template | Redirect:
    contact = await visible_contact(request, contact_id)
    await require(request, EDIT)
    values = values_from_form(data, await defined_fields())
    if form_text(data, "add"):
        return await render_form(request, values.padded(*_extra_rows(data)), contact=contact)
    if values.version != _version(contact) and form_text(data, "overwrite") != "1":
        # Someone saved since this form was opened: show theirs is newer, keep ours typed.
        values.version = _version(contact)
        return await render_form(
            request, values.padded(), contact=contact, conflict=True, status_code=409
        )
    service, errors = await service_data(values, creating=False)
    if errors:
        errors = await _service_errors(service) | errors
        return await render_form(
            request, values.padded(), contact=contact, errors=errors, status_code=400
        )
    merge_into = await _merge_target(request, data)
    allow = form_text(data, "allow_duplicate") == "1" or merge_into is not None
    actor = int(user_of(request)["id"])
    target = contact_id
    try:
        async with transaction():
            await update_contact(contact_id, service, actor_id=actor, allow_duplicate=allow)
            if merge_into is not None:
                await merge_contacts(merge_into, contact_id, actor_id=actor)
                target = merge_into
    except ValidationError as exc:
        return await render_form(
            request,
            values.padded(),
            contact=contact,
            errors=field_errors(exc.errors),
            status_code=400,
        )
    except DuplicateContact as exc:
        return await render_form(
            request,
            values.padded(),
            contact=contact,
            duplicates=await _duplicates(request, exc.matches),
            status_code=409,
        )
    except MergeError:
        return await render_form(
            request,
            values.padded(),
            contact=contact,
            status_code=409,
            form_error=_("These two contacts cannot be merged (a person and a company)."),
        )
    return Redirect(f"/contacts/{target}", status_code=303)


@get("/contacts/companies", name="contact-companies")
async def company_options(
    request: Request, q: FromQuery[str] = "", company: FromQuery[str] = ""
) -> Template:
    """``<option>``s for the company field's datalist, refreshed as the user types (htmx
    sends the field itself, ``company``)."""
    await require(request, EDIT)
    text = (q or company)[:300]
    choices = await company_choices(text) if text.strip() else []
    names = [c["name"] for c in choices]
    return fragment(
        "contacts/_company_options.html",
        choices=[
            {"value": c["name"] if names.count(c["name"]) == 1 else f"{c['name']} (#{c['id']})"}
            for c in choices
        ],
    )


ROUTES = [new_contact, create_contact_page, edit_contact, update_contact_page, company_options]
