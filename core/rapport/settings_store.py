"""Instance settings administrators change at run time, stored in ``rapport_setting``.

``rapport.toml`` and the environment give the defaults (:mod:`rapport.settings`); an
administrator's choice of default language, phone region, currency, record visibility and
theme is kept in the database so that every process of the instance sees the same value.

The rest of the core reads ``current().settings``; to keep that one place true, saving and
:func:`refresh` replace it with the configured settings plus the stored overrides. A process
picks up another process's change when it next calls :func:`refresh`: the web app does so at
the start of a request, at most once a second; a separate background worker reads the overrides
at start-up (the core's ``startup`` hook) and keeps them until it calls :func:`refresh`; CLI
commands, which start without the ``startup`` hooks, use the configured values.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from rapport.db.transaction import transaction
from rapport.plugins.tables import InstanceSetting
from rapport.runtime import Runtime, current
from rapport.settings import (
    Settings,
    SettingsError,
    _check_currency,
    _check_language,
    _check_region,
)
from rapport.users import visibility

#: Settings fields an administrator may override, stored under the same key.
OVERRIDABLE = ("language", "phone_region", "currency")
THEME_KEY = "theme"
VISIBILITY_KEY = visibility.SETTING
REFRESH_INTERVAL = 1.0  # seconds between re-reads of the stored values in one process
_STATE = "settings_store"  # key of this module's cache in ``Runtime.state``


@dataclass(frozen=True)
class InstanceSettings:
    """The values the settings page shows: stored overrides over the configured defaults."""

    language: str
    phone_region: str
    currency: str
    record_visibility: str
    theme: str


class InstanceSettingsError(ValueError):
    """Values that cannot be used; ``errors`` maps each refused field to the reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- validation ----------------------------------------------------------------------------------


def theme_names() -> set[str]:
    """Names of the installed themes (entry points are read once per process)."""
    from rapport.web.themes import installed_themes

    return set(installed_themes())


def _check_ui_language(code: str) -> str:
    from rapport.web.i18n import LANGUAGES

    code = _check_language(code)
    if code not in LANGUAGES:
        raise SettingsError(f"language: the interface is not translated to {code!r}")
    return code


def _check_visibility(mode: str) -> str:
    if mode not in visibility.MODES:
        raise SettingsError(f"record_visibility: must be one of {', '.join(visibility.MODES)}")
    return mode


def _check_theme(name: str) -> str:
    if name not in theme_names():
        raise SettingsError(f"theme: {name!r} is not installed")
    return name


CHECKS = {
    "language": _check_ui_language,
    "phone_region": _check_region,
    "currency": _check_currency,
    "record_visibility": _check_visibility,
    "theme": _check_theme,
}


def validate(changes: dict[str, Any]) -> dict[str, str]:
    """Check every value like ``rapport.settings`` checks the configured ones; return them
    normalised (``ru`` region → ``RU``), or raise :class:`InstanceSettingsError` with all
    problems at once, so a form can show each next to its field."""
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key, value in changes.items():
        check = CHECKS.get(key)
        if check is None:
            errors[key] = "is not a setting administrators can change"
            continue
        try:
            cleaned[key] = check(str(value or "").strip())
        except SettingsError as exc:
            errors[key] = str(exc).split(": ", 1)[-1]
    if errors:
        raise InstanceSettingsError(errors)
    return cleaned


# --- reading and writing -------------------------------------------------------------------------


def _base(runtime: Runtime) -> Settings:
    """The settings as configured (environment, ``rapport.toml``), before any override."""
    cache = runtime.state.setdefault(_STATE, {})
    if "base" not in cache:
        cache["base"] = runtime.settings
    return cache["base"]


async def _stored() -> dict[str, Any]:
    keys = [*OVERRIDABLE, THEME_KEY, VISIBILITY_KEY]
    rows = (
        await InstanceSetting.select(InstanceSetting.key, InstanceSetting.value)
        .where(InstanceSetting.key.is_in(keys))
        .output(load_json=True)
    )
    return {r["key"]: r["value"] for r in rows if r["value"] is not None}


def _effective(base: Settings, stored: dict[str, Any]) -> InstanceSettings:
    """Stored values that are still valid win; a stale one (an uninstalled theme) is ignored."""
    themes = theme_names()
    configured_theme = str(base.extra.get("theme", "default"))
    theme = stored.get(THEME_KEY)
    if theme not in themes:
        theme = configured_theme if configured_theme in themes else "default"
    mode = stored.get(VISIBILITY_KEY)
    values: dict[str, str] = {}
    for key in OVERRIDABLE:
        try:
            values[key] = CHECKS[key](str(stored[key])) if key in stored else getattr(base, key)
        except SettingsError:
            values[key] = getattr(base, key)
    return InstanceSettings(
        language=values["language"],
        phone_region=values["phone_region"],
        currency=values["currency"],
        record_visibility=mode if mode in visibility.MODES else "all",
        theme=theme,
    )


def _apply(runtime: Runtime, values: InstanceSettings) -> None:
    base = _base(runtime)
    runtime.settings = base.with_overrides(
        language=values.language, phone_region=values.phone_region, currency=values.currency
    )
    cache = runtime.state.setdefault(_STATE, {})
    cache["values"] = values
    cache["read_at"] = time.monotonic()


async def refresh(force: bool = False) -> InstanceSettings:
    """Re-read the stored values (at most once a second unless ``force``) and apply them."""
    runtime = current()
    cache = runtime.state.setdefault(_STATE, {})
    due = time.monotonic() - cache.get("read_at", 0.0) >= REFRESH_INTERVAL
    if force or due or "values" not in cache:
        _apply(runtime, _effective(_base(runtime), await _stored()))
    return cache["values"]


def cached() -> InstanceSettings | None:
    """The values this process last read, without touching the database (None before any)."""
    return current().state.get(_STATE, {}).get("values")


async def get_settings() -> InstanceSettings:
    """The current values, read from the database now."""
    return await refresh(force=True)


async def save_settings(**changes: Any) -> InstanceSettings:
    """Validate and store ``changes`` (any of :data:`CHECKS`' keys) and apply them at once in
    this process; other processes follow within :data:`REFRESH_INTERVAL` of their next request.
    """
    cleaned = validate(changes)
    async with transaction():
        for key, value in cleaned.items():
            if key == VISIBILITY_KEY:
                await visibility.set_visibility_mode(value)
                continue
            await InstanceSetting.delete().where(InstanceSetting.key == key)
            await InstanceSetting.insert(InstanceSetting(key=key, value=json.dumps(value)))
    return await refresh(force=True)


__all__ = [
    "CHECKS",
    "OVERRIDABLE",
    "InstanceSettings",
    "InstanceSettingsError",
    "cached",
    "get_settings",
    "refresh",
    "save_settings",
    "validate",
]
