"""Admin: a settings page for each enabled plugin, made from the fields its manifest declares."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.plugins.settings_values import (
    PluginSettingsError,
    configured_value,
    declared_settings,
    effective_settings,
    save_plugin_settings,
)
from rapport.runtime import current
from rapport.web.i18n import gettext as _
from rapport.web.pages.admin_common import SETTINGS, Form, admin_page, guarded


def _messages() -> dict[str, str]:
    return {
        "number": _("Enter a number."),
        "choice": _("Pick one of the choices."),
        "too_long": _("This is too long."),
    }


def _shown(value: Any) -> str:
    """A configured value as the hint shows it."""
    if isinstance(value, bool):
        return _("on") if value else _("off")
    if value is None or value == "":
        return _("empty")
    return str(value)


def _plugin(name: str) -> Any:
    registry = current().plugins
    if name not in registry.enabled or name not in registry.installed:
        raise NotFoundException()
    if not registry.installed[name].manifest.settings:
        raise NotFoundException()
    return registry.installed[name]


async def _page(
    request: Request,
    name: str,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    saved: bool = False,
) -> Template:
    plugin = _plugin(name)
    return await admin_page(
        request,
        "admin/plugin_settings.html",
        "plugins",
        status_code=status_code,
        plugin=plugin,
        title=_(plugin.manifest.title) if plugin.manifest.title else name,
        fields=declared_settings(name),
        values=values,
        configured={f.key: _shown(configured_value(name, f)) for f in declared_settings(name)},
        choices={f.key: [(str(c), _(str(c))) for c in f.choices] for f in declared_settings(name)},
        errors=errors,
        saved=saved,
    )


@get("/admin/plugins/{name:str}/settings", name="admin-plugin-settings", **guarded(SETTINGS))
async def plugin_settings_page(
    request: Request, name: FromPath[str], saved: FromQuery[str | None] = None
) -> Template:
    _plugin(name)
    return await _page(request, name, await effective_settings(name), {}, saved=bool(saved))


@post("/admin/plugins/{name:str}/settings", **guarded(SETTINGS))
async def save_plugin_settings_action(
    request: Request, name: FromPath[str], data: Form
) -> Template | Redirect:
    _plugin(name)
    submitted = {k: (v[-1] if isinstance(v, list) and v else v) for k, v in data.items()}
    try:
        await save_plugin_settings(name, submitted)
    except PluginSettingsError as exc:
        messages = _messages()
        errors = {key: messages.get(code, code) for key, code in exc.errors.items()}
        return await _page(request, name, submitted, errors, status_code=400)
    return Redirect(f"/admin/plugins/{name}/settings?saved=1")


ROUTES = [plugin_settings_page, save_plugin_settings_action]
