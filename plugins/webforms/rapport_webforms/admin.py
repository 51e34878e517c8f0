"""Building forms: the list, a new form, the editor with its embedding codes."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from rapport.api import (
    assignment_rules,
    custom_field_definitions,
    page,
    requires_permission,
)
from rapport.api import gettext as _

from rapport_webforms.definitions import FIELD_KINDS, LANGUAGES, parse_fields
from rapport_webforms.forms import Form as FormDefinition
from rapport_webforms.forms import create_form, forget_cached, form_by_id, normalise_origin
from rapport_webforms.tables import Submission, WebForm

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
MANAGE = "webforms.manage"
GUARD = [requires_permission(MANAGE)]
STANDARD_KINDS = [k for k in FIELD_KINDS if k != "custom"]
CUSTOM_ROWS = 3  # blank rows offered for more custom fields


def _text(data: dict[str, Any], key: str, limit: int = 500) -> str:
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()[:limit]


def kind_labels() -> dict[str, str]:
    return {
        "name": _("Name"),
        "email": _("Email"),
        "phone": _("Phone"),
        "company": _("Company"),
        "city": _("City"),
        "region": _("Region"),
        "country": _("Country"),
        "message": _("Message"),
        "consent": _("Consent checkbox"),
        "custom": _("Custom field"),
    }


def hook_modes() -> dict[str, str]:
    return {
        "off": _("Off"),
        "hmac": _("HMAC signature of the body"),
        "shared_key": _("Shared key in the address or a header"),
    }


@get("/webforms", name="webforms:list", guards=GUARD)
async def forms_list(request: Request) -> Template:
    forms = await WebForm.select(
        WebForm.id, WebForm.key, WebForm.title, WebForm.active, WebForm.language
    ).order_by(WebForm.title)
    counts = {
        row["form_id"]: row["count"]
        for row in await Submission.raw(
            "SELECT form_id, COUNT(*) AS count FROM webforms_submission "
            "WHERE status IN ('created', 'attached') GROUP BY form_id"
        )
    }
    return await page(request, "webforms/list.html", forms=forms, counts=counts, errors={})


@post("/webforms", guards=GUARD)
async def new_form(request: Request, data: Form) -> Template | Redirect:
    title = _text(data, "title", 200)
    language = _text(data, "language", 8)
    if not title:
        forms = await WebForm.select(
            WebForm.id, WebForm.key, WebForm.title, WebForm.active, WebForm.language
        ).order_by(WebForm.title)
        return await page(
            request,
            "webforms/list.html",
            status_code=400,
            forms=forms,
            counts={},
            errors={"title": _("Give the form a title.")},
        )
    form = await create_form(title, language=language if language in LANGUAGES else "en")
    return Redirect(f"/webforms/{form.id}")


async def _editor(
    request: Request,
    form_id: int,
    status_code: int = 200,
    draft: FormDefinition | None = None,
    **context: Any,
) -> Template:
    """The editor, showing ``draft`` (what the admin sent, when it was refused) or the form."""
    form = draft or await form_by_id(form_id)
    if form is None:
        raise NotFoundException()
    rules = await assignment_rules()
    base = str(request.base_url).rstrip("/")
    standard = {f.kind: f for f in form.fields if f.kind != "custom"}
    custom = [f for f in form.fields if f.kind == "custom"]
    return await page(
        request,
        "webforms/edit.html",
        status_code=status_code,
        form=form,
        base=base,
        standard=standard,
        standard_kinds=STANDARD_KINDS,
        custom=custom,
        custom_rows=CUSTOM_ROWS,
        kinds=kind_labels(),
        hook_modes=hook_modes(),
        rule_choices=[(r["id"], r["name"]) for r in rules],
        custom_fields=await custom_field_definitions(),
        errors=context.pop("errors", {}),
        **context,
    )


@get("/webforms/{form_id:int}", name="webforms:edit", guards=GUARD)
async def edit_form(
    request: Request, form_id: FromPath[int], saved: FromQuery[int] = 0
) -> Template:
    return await _editor(request, form_id, saved=bool(saved))


def _fields_from(data: dict[str, Any]) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for kind in STANDARD_KINDS:
        if _text(data, f"{kind}_on") != "on":
            continue
        fields.append(
            {
                "key": kind,
                "kind": kind,
                "required": _text(data, f"{kind}_required") == "on",
                "label": {lang: _text(data, f"{kind}_label_{lang}", 300) for lang in LANGUAGES},
            }
        )
    index = 0
    while f"custom_{index}_key" in data:
        key = _text(data, f"custom_{index}_key", 80)
        if key:
            fields.append(
                {
                    "key": f"custom_{key}",
                    "kind": "custom",
                    "custom_key": key,
                    "required": _text(data, f"custom_{index}_required") == "on",
                    "label": {
                        lang: _text(data, f"custom_{index}_label_{lang}", 300) for lang in LANGUAGES
                    },
                }
            )
        index += 1
    return fields


@post("/webforms/{form_id:int}", guards=GUARD)
async def save_form(request: Request, form_id: FromPath[int], data: Form) -> Template | Redirect:
    stored = await form_by_id(form_id)
    if stored is None:
        raise NotFoundException()
    errors: dict[str, str] = {}
    title = _text(data, "title", 200)
    if not title:
        errors["title"] = _("Give the form a title.")
    language = _text(data, "language", 8)
    if language not in LANGUAGES:
        errors["language"] = _("Pick one of the languages.")
    origins = []
    for line in _text(data, "allowed_origins", 4000).splitlines():
        if not line.strip():
            continue
        origin = normalise_origin(line)
        if not origin:
            errors["allowed_origins"] = _(
                "Enter each site as its address, like https://www.example.com."
            )
        else:
            origins.append(origin)
    redirect_url = _text(data, "redirect_url", 500)
    if redirect_url and not normalise_origin(redirect_url):
        errors["redirect_url"] = _("Enter a full address starting with https://.")
    min_fill = _text(data, "min_fill_seconds", 5) or "0"
    if not min_fill.isdigit() or int(min_fill) > 600:
        errors["min_fill_seconds"] = _("Enter a number of seconds from 0 to 600.")
    rule = _text(data, "rule_id", 12)
    rule_ids = {r["id"] for r in await assignment_rules()}
    if rule and (not rule.isdigit() or int(rule) not in rule_ids):
        errors["rule_id"] = _("Pick one of the rules.")
    mode = _text(data, "hook_mode", 16) or "off"
    if mode not in hook_modes():
        errors["hook_mode"] = _("Pick one of the choices.")
    secret = _text(data, "hook_secret", 200)
    if mode != "off" and len(secret) < 16:
        errors["hook_secret"] = _("Use a secret of at least 16 characters.")
    mapping: dict[str, str] = {}
    for line in _text(data, "hook_mapping", 4000).splitlines():
        if not line.strip():
            continue
        name, sep, path = line.partition("=")
        if not sep or not name.strip() or not path.strip():
            errors["hook_mapping"] = _("Write one mapping per line: field = path.to.value")
        else:
            mapping[name.strip()] = path.strip()
    fields = _fields_from(data)
    if not fields:
        errors["fields"] = _("A form needs at least one field.")
    known_custom = await custom_field_definitions()
    for f in fields:
        if f["kind"] == "custom" and f["custom_key"] not in known_custom:
            errors["fields"] = _(
                "%(key)s is not a custom field: create it under Admin, Custom fields first.",
                key=f["custom_key"],
            )
    values = {
        "title": title,
        "language": language,
        "fields": parse_fields(fields),
        "thank_you": _text(data, "thank_you", 2000),
        "redirect_url": redirect_url,
        "tags": [t.strip() for t in _text(data, "tags", 1000).split(",") if t.strip()],
        "source": _text(data, "source", 100),
        "pipeline": _text(data, "pipeline", 100),
        "stage": _text(data, "stage", 100),
        "allowed_origins": origins,
        "accept_untimed": _text(data, "accept_untimed") == "on",
        "hook_mode": mode,
        "hook_secret": secret,
        "hook_header": _text(data, "hook_header", 100) or "Typeform-Signature",
        "hook_mapping": mapping,
        "active": _text(data, "active") == "on",
    }
    if errors:
        draft = dataclasses.replace(
            stored,
            **values,
            rule_id=int(rule) if rule.isdigit() else None,
            min_fill_seconds=int(min_fill) if min_fill.isdigit() else stored.min_fill_seconds,
        )
        return await _editor(request, form_id, 400, draft=draft, errors=errors)
    await WebForm.update(
        {
            WebForm.title: title,
            WebForm.language: language,
            WebForm.fields: json.dumps(fields),
            WebForm.thank_you: values["thank_you"],
            WebForm.redirect_url: redirect_url,
            WebForm.tags: json.dumps(values["tags"]),
            WebForm.source: values["source"],
            WebForm.rule_id: int(rule) if rule else None,
            WebForm.pipeline: values["pipeline"],
            WebForm.stage: values["stage"],
            WebForm.allowed_origins: json.dumps(origins),
            WebForm.min_fill_seconds: int(min_fill),
            WebForm.accept_untimed: values["accept_untimed"],
            WebForm.hook_mode: mode,
            WebForm.hook_secret: secret,
            WebForm.hook_header: values["hook_header"],
            WebForm.hook_mapping: json.dumps(mapping),
            WebForm.active: values["active"],
        }
    ).where(WebForm.id == form_id)
    forget_cached()
    return Redirect(f"/webforms/{form_id}?saved=1")


ROUTES = [forms_list, new_form, edit_form, save_form]
