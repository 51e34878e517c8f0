"""Admin: instance settings (default language, phone region, currency, visibility, theme)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import phonenumbers
from babel.numbers import list_currencies
from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from rapport.settings_store import InstanceSettingsError, get_settings, save_settings
from rapport.web.i18n import LANGUAGES, locale
from rapport.web.i18n import gettext as _
from rapport.web.pages.admin_common import SETTINGS, Form, admin_page, guarded, text
from rapport.web.themes import installed_themes

FIELDS = ("language", "phone_region", "currency", "record_visibility", "theme")


def region_choices() -> list[tuple[str, str]]:
    """Regions phonenumbers knows, named in the admin's language, sorted by that name."""
    names = locale().territories
    choices = [
        (code, f"{names.get(code, code)} ({code})") for code in phonenumbers.SUPPORTED_REGIONS
    ]
    return sorted(choices, key=lambda c: c[1].lower())


def currency_choices() -> list[tuple[str, str]]:
    names = locale().currencies
    choices = [(code, f"{code} — {names.get(code, code)}") for code in list_currencies()]
    return sorted(choices)


def theme_choices() -> list[tuple[str, str]]:
    """The default theme first, the others by title."""
    themes = installed_themes()
    names = sorted(themes, key=lambda n: (n != "default", _(themes[n].title).lower()))
    return [(name, _(themes[name].title)) for name in names]


def _messages() -> dict[str, str]:
    """What to say next to each field the store refuses, in the admin's language."""
    return {
        "language": _("Pick one of the languages."),
        "phone_region": _("Pick a region from the list."),
        "currency": _("Pick a currency from the list."),
        "record_visibility": _("Pick who sees which contacts."),
        "theme": _("Pick one of the installed themes."),
    }


async def _settings_page(
    request: Request, values: dict[str, Any], status_code: int = 200, **context: Any
) -> Template:
    return await admin_page(
        request,
        "admin/settings.html",
        "settings",
        status_code=status_code,
        values=values,
        language_choices=list(LANGUAGES.items()),
        region_choices=region_choices(),
        currency_choices=currency_choices(),
        visibility_choices=[
            ("all", _("Everyone sees every contact")),
            ("own", _("Staff see their own contacts and unassigned ones")),
        ],
        theme_choices=theme_choices(),
        **context,
    )


@get("/admin/settings", name="admin-settings", **guarded(SETTINGS))
async def settings_page(request: Request, saved: FromQuery[str | None] = None) -> Template:
    values = asdict(await get_settings())
    return await _settings_page(request, values, errors={}, saved=bool(saved))


@post("/admin/settings", **guarded(SETTINGS))
async def save_settings_action(request: Request, data: Form) -> Template | Redirect:
    """Store the settings; they apply from the next page on, in every process of the
    instance, without a restart."""
    submitted = {key: text(data, key, 100) for key in FIELDS}
    try:
        await save_settings(**submitted)
    except InstanceSettingsError as exc:
        messages = _messages()
        errors = {key: messages.get(key, reason) for key, reason in exc.errors.items()}
        return await _settings_page(request, submitted, 400, errors=errors, saved=False)
    return Redirect("/admin/settings?saved=1")


ROUTES = [settings_page, save_settings_action]
