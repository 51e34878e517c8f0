"""Admin: custom field definitions (the admin's own and those plugins declared)."""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.contacts.custom_fields import FIELD_TYPES
from rapport.contacts.tables import CustomFieldDefinition
from rapport.runtime import current
from rapport.web.i18n import gettext as _
from rapport.web.pages.admin_common import SETTINGS, Form, admin_page, guarded, text

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
MAX_CHOICES = 200


def type_labels() -> dict[str, str]:
    return {
        "text": _("Text"),
        "number": _("Number"),
        "date": _("Date"),
        "choice": _("Choice from a list"),
        "bool": _("Yes / no"),
    }


def parse_choices(raw: str) -> list[str]:
    """One choice per line (commas also separate), blanks and repeats dropped, order kept."""
    seen: list[str] = []
    for part in re.split(r"[\n,]", raw):
        choice = part.strip()[:100]
        if choice and choice not in seen:
            seen.append(choice)
    return seen[:MAX_CHOICES]


def _forget_cached_fields() -> None:
    """Other parts of the core cache the definitions per process; make them re-read."""
    current().state.pop("custom_fields_loaded", None)


async def _definitions() -> list[dict[str, Any]]:
    return (
        await CustomFieldDefinition.select()
        .order_by(CustomFieldDefinition.position)
        .order_by(CustomFieldDefinition.id)
        .output(load_json=True)
    )


async def _fields_page(request: Request, status_code: int = 200, **context: Any) -> Template:
    context.setdefault(
        "values", {"key": "", "label": "", "type": "text", "choices": "", "position": ""}
    )
    context.setdefault("errors", {})
    return await admin_page(
        request,
        "admin/fields.html",
        "fields",
        status_code=status_code,
        fields=await _definitions(),
        types=type_labels(),
        **context,
    )


def _check_common(values: dict[str, str]) -> tuple[dict[str, str], list[str], int | None]:
    """Errors for label, choices and position, with the parsed choices and position."""
    errors: dict[str, str] = {}
    if not values["label"]:
        errors["label"] = _("Enter a label people will see.")
    choices = parse_choices(values["choices"])
    if values["type"] == "choice" and not choices:
        errors["choices"] = _("A choice field needs at least one choice, one per line.")
    position: int | None = None
    if values["position"]:
        try:
            position = int(values["position"])
        except ValueError:
            errors["position"] = _("The order is a whole number.")
    return errors, choices, position


@get("/admin/fields", name="admin-fields", **guarded(SETTINGS))
async def fields_page(request: Request, saved: FromQuery[str | None] = None) -> Template:
    # Only a key that exists is echoed back, so the link cannot be used to show any text.
    known = await CustomFieldDefinition.exists().where(CustomFieldDefinition.key == (saved or ""))
    return await _fields_page(request, saved=saved if known else None)


@post("/admin/fields", **guarded(SETTINGS))
async def create_field(request: Request, data: Form) -> Template | Redirect:
    values = {
        "key": text(data, "key", 80).lower(),
        "label": text(data, "label", 150),
        "type": text(data, "type", 16),
        "choices": text(data, "choices", 10_000),
        "position": text(data, "position", 10),
    }
    errors, choices, position = _check_common(values)
    if not KEY_PATTERN.match(values["key"]):
        errors["key"] = _("Use lower-case letters, digits and _, starting with a letter.")
    elif await CustomFieldDefinition.exists().where(CustomFieldDefinition.key == values["key"]):
        errors["key"] = _("A field with this key exists.")
    if values["type"] not in FIELD_TYPES:
        errors["type"] = _("Pick one of the types.")
    if errors:
        return await _fields_page(request, 400, values=values, errors=errors)
    if position is None:
        position = await CustomFieldDefinition.count() * 10
    await CustomFieldDefinition.insert(
        CustomFieldDefinition(
            key=values["key"],
            label=values["label"],
            type=values["type"],
            choices=json.dumps(choices if values["type"] == "choice" else []),
            declared_by="admin",
            position=position,
        )
    )
    _forget_cached_fields()
    return Redirect(f"/admin/fields?saved={values['key']}")


async def _field_or_404(field_id: int) -> dict[str, Any]:
    row = (
        await CustomFieldDefinition.select()
        .where(CustomFieldDefinition.id == field_id)
        .first()
        .output(load_json=True)
    )
    if row is None:
        raise NotFoundException()
    return row


async def _edit_page(
    request: Request, field: dict[str, Any], status_code: int = 200, **context: Any
) -> Template:
    context.setdefault("errors", {})
    context.setdefault(
        "values",
        {
            "label": field["label"],
            "choices": "\n".join(field["choices"] or []),
            "position": str(field["position"]),
        },
    )
    return await admin_page(
        request,
        "admin/field_edit.html",
        "fields",
        status_code=status_code,
        field=field,
        types=type_labels(),
        **context,
    )


@get("/admin/fields/{field_id:int}", name="admin-field", **guarded(SETTINGS))
async def edit_field_page(request: Request, field_id: FromPath[int]) -> Template:
    return await _edit_page(request, await _field_or_404(field_id))


@post("/admin/fields/{field_id:int}", **guarded(SETTINGS))
async def update_field(
    request: Request, field_id: FromPath[int], data: Form
) -> Template | Redirect:
    """Label, choices and position change; key and type stay, since stored values depend
    on them."""
    field = await _field_or_404(field_id)
    values = {
        "label": text(data, "label", 150),
        "type": field["type"],
        "choices": text(data, "choices", 10_000),
        "position": text(data, "position", 10),
    }
    errors, choices, position = _check_common(values)
    if errors:
        return await _edit_page(request, field, 400, values=values, errors=errors)
    await CustomFieldDefinition.update(
        {
            CustomFieldDefinition.label: values["label"],
            CustomFieldDefinition.choices: json.dumps(choices if field["type"] == "choice" else []),
            CustomFieldDefinition.position: field["position"] if position is None else position,
        }
    ).where(CustomFieldDefinition.id == field_id)
    _forget_cached_fields()
    return Redirect(f"/admin/fields?saved={field['key']}")


ROUTES = [fields_page, create_field, edit_field_page, update_field]
