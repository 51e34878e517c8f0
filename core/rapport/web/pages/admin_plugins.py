"""Admin: the plugins page (enable, disable, quarantine) and the business-type wizard."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.plugins import state
from rapport.plugins.presets import BusinessType
from rapport.plugins.presets_service import (
    PRESET_SETTING,
    PresetError,
    apply_preset,
    available_presets,
)
from rapport.plugins.registry import InstalledPlugin, PluginError
from rapport.plugins.tables import InstanceSetting
from rapport.runtime import DeclarationError, current
from rapport.web.i18n import gettext as _
from rapport.web.pages.admin_common import PLUGINS, Form, admin_page, current_user, guarded, text

log = logging.getLogger(__name__)

#: The core's presets first, in the order the wizard offers them; plugins' own after.
PRESET_ORDER = ("retail", "b2b", "services", "custom")


# --- the plugins page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PluginRow:
    """One installed plugin as the page shows it."""

    name: str
    title: str
    version: str
    description: str
    category: str
    requires: tuple[str, ...]
    required_by: tuple[str, ...]  # enabled plugins that need this one
    enabled: bool
    has_settings: bool = False  # declares settings: the page links to their form


def _row(plugin: InstalledPlugin, enabled: set[str]) -> PluginRow:
    registry = current().plugins
    manifest = plugin.manifest
    return PluginRow(
        name=plugin.name,
        title=_(manifest.title) if manifest.title else plugin.name,
        version=manifest.version,
        description=_(manifest.description) if manifest.description else "",
        category=manifest.category,
        requires=manifest.requires,
        required_by=tuple(registry.dependents(plugin.name, enabled)),
        enabled=plugin.name in enabled,
        has_settings=bool(manifest.settings),
    )


def plugin_rows() -> list[PluginRow]:
    registry = current().plugins
    rows = [_row(p, registry.enabled) for p in registry.installed.values()]
    return sorted(rows, key=lambda r: (r.category.lower(), r.title.lower()))


def _known(names: str | None) -> list[str]:
    """Plugin names from a query string, kept only if installed (no arbitrary text echoed)."""
    installed = current().plugins.installed
    return [n for n in (names or "").split(",") if n in installed]


async def _plugins_page(
    request: Request, status_code: int = 200, error: str | None = None, **context: Any
) -> Template:
    registry = current().plugins
    return await admin_page(
        request,
        "admin/plugins.html",
        "plugins",
        status_code=status_code,
        plugins=plugin_rows(),
        quarantined=sorted(registry.quarantined.values(), key=lambda q: q.name),
        error=error,
        **context,
    )


@get("/admin/plugins", name="admin-plugins", **guarded(PLUGINS))
async def plugins_page(
    request: Request, enabled: FromQuery[str | None] = None, disabled: FromQuery[str | None] = None
) -> Template:
    return await _plugins_page(request, enabled_now=_known(enabled), disabled_now=_known(disabled))


@post("/admin/plugins/{name:str}/enable", **guarded(PLUGINS))
async def enable_plugin(request: Request, name: FromPath[str]) -> Template | Redirect:
    try:
        new = await state.enable(name, current_user(request)["id"])
    except PluginError:
        return await _plugins_page(request, 409, error=_unavailable_message(name))
    except DeclarationError as exc:
        return await _plugins_page(
            request,
            409,
            error=_(
                "%(name)s clashes with an enabled plugin: %(detail)s", name=name, detail=str(exc)
            ),
        )
    except Exception as exc:  # a plugin's own set-up may raise anything
        log.exception("enabling plugin %s failed", name)
        return await _plugins_page(
            request,
            409,
            error=_(
                "%(name)s could not be enabled: its set-up failed (%(error)s).",
                name=name,
                error=type(exc).__name__,
            ),
        )
    return Redirect(f"/admin/plugins?enabled={','.join(new or [name])}")


@post("/admin/plugins/{name:str}/disable", **guarded(PLUGINS))
async def disable_plugin(request: Request, name: FromPath[str]) -> Template | Redirect:
    registry = current().plugins
    if name in registry.installed:
        dependents = registry.dependents(name, registry.enabled)
        if dependents:
            return await _plugins_page(
                request,
                409,
                error=_(
                    "%(name)s cannot be disabled: %(dependents)s need it. Disable them first.",
                    name=name,
                    dependents=", ".join(dependents),
                ),
            )
    try:
        await state.disable(name, current_user(request)["id"])
    except PluginError:
        return await _plugins_page(request, 409, error=_unavailable_message(name))
    return Redirect(f"/admin/plugins?disabled={name}")


def _unavailable_message(name: str) -> str:
    registry = current().plugins
    if name in registry.quarantined:
        return _(
            "%(name)s is quarantined: %(reason)s",
            name=name,
            reason=registry.quarantined[name].reason,
        )
    if name in registry.installed:
        missing = [
            r for r in registry.installed[name].manifest.requires if r not in registry.installed
        ]
        return _(
            "%(name)s needs plugins that are not installed: %(missing)s",
            name=name,
            missing=", ".join(missing),
        )
    return _("There is no installed plugin named %(name)s.", name=name)


# --- the business-type wizard --------------------------------------------------------------------


@dataclass(frozen=True)
class PresetPlugin:
    name: str
    title: str
    status: str  # "enabled", "available" or "missing"


@dataclass(frozen=True)
class PresetView:
    name: str
    title: str
    description: str
    plugins: list[PresetPlugin]

    @property
    def missing(self) -> list[PresetPlugin]:
        return [p for p in self.plugins if p.status == "missing"]


def _preset_view(preset: BusinessType) -> PresetView:
    registry = current().plugins
    plugins = []
    for name in preset.plugins:
        installed = registry.installed.get(name)
        if installed is None:
            plugins.append(PresetPlugin(name, name, "missing"))
            continue
        title = _(installed.manifest.title) if installed.manifest.title else name
        status = "enabled" if name in registry.enabled else "available"
        plugins.append(PresetPlugin(name, title, status))
    return PresetView(
        name=preset.name,
        title=_(preset.title) if preset.title else preset.name,
        description=_(preset.description) if preset.description else "",
        plugins=plugins,
    )


def preset_views() -> list[PresetView]:
    presets = available_presets(current().plugins)

    def order(name: str) -> tuple[int, str]:
        return (PRESET_ORDER.index(name) if name in PRESET_ORDER else len(PRESET_ORDER), name)

    return [_preset_view(presets[name]) for name in sorted(presets, key=order)]


async def chosen_business_type() -> str | None:
    """The preset applied last, or None before the first run of the wizard."""
    row = (
        await InstanceSetting.select(InstanceSetting.value)
        .where(InstanceSetting.key == PRESET_SETTING)
        .first()
        .output(load_json=True)
    )
    value = row["value"] if row else None
    return str(value) if value else None


@get("/admin/setup", name="admin-setup", **guarded(PLUGINS))
async def setup_page(request: Request) -> Template:
    chosen = await chosen_business_type()
    return await admin_page(
        request,
        "admin/setup.html",
        "setup",
        presets=preset_views(),
        chosen=chosen,
        first_run=chosen is None,
        error=None,
    )


async def _setup_refused(request: Request, status_code: int, error: str) -> Template:
    return await admin_page(
        request,
        "admin/setup.html",
        "setup",
        status_code=status_code,
        presets=preset_views(),
        chosen=await chosen_business_type(),
        first_run=False,
        error=error,
    )


@post("/admin/setup", **guarded(PLUGINS))
async def apply_setup(request: Request, data: Form) -> Template:
    """Apply a preset and say what it enabled and what is missing here; running it again
    later only adds plugins, it never disables any."""
    name = text(data, "preset", 100)
    views = {v.name: v for v in preset_views()}
    if name not in views:
        return await _setup_refused(request, 400, _("Pick one of the business types."))
    try:
        result = await apply_preset(name, current_user(request)["id"])
    except PresetError as exc:
        reason = _("The business type could not be applied: %(reason)s", reason=str(exc))
        return await _setup_refused(request, 409, reason)
    except Exception as exc:  # a plugin's own set-up may raise anything
        log.exception("applying business type %s failed", name)
        reason = _("The business type could not be applied: %(reason)s", reason=type(exc).__name__)
        return await _setup_refused(request, 409, reason)
    return await admin_page(
        request,
        "admin/setup_done.html",
        "setup",
        preset=views[name],
        enabled=[_plugin_title(n) for n in result.enabled],
        already=[_plugin_title(p.name) for p in views[name].plugins if p.status == "enabled"],
        missing=result.missing,
    )


def _plugin_title(name: str) -> str:
    installed = current().plugins.installed.get(name)
    return _(installed.manifest.title) if installed and installed.manifest.title else name


ROUTES = [plugins_page, enable_plugin, disable_plugin, setup_page, apply_setup]
