"""Values of the settings plugins declare (``Manifest.settings``), as administrators set them.

A plugin's effective setting is, in this order: the value an administrator saved on the
plugin's settings page (stored in ``rapport_setting`` under ``plugin:<name>:<key>``, so every
process sees it), else the ``[<name>]`` table of ``rapport.toml``, else the declared default.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rapport.db.transaction import transaction
from rapport.plugins.manifest import SettingField
from rapport.plugins.tables import InstanceSetting
from rapport.runtime import current

TEXT_LIMIT = 2000
_INTEGER = re.compile(r"^[+-]?\d+$")


class PluginSettingsError(ValueError):
    """Values refused; ``errors`` maps each field key to a reason code (``number``,
    ``choice``, ``too_long``)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _storage_key(plugin: str, key: str) -> str:
    return f"plugin:{plugin}:{key}"


def _decode(raw: Any) -> Any:
    """A stored value. Not ``load_json``: SQLite gives a JSON column numeric affinity, so a
    stored ``7`` comes back as the integer, not as the text Piccolo would parse."""
    return json.loads(raw) if isinstance(raw, str) else raw


def declared_settings(plugin: str) -> tuple[SettingField, ...]:
    """The fields an installed plugin declares; raises ``KeyError`` for an unknown plugin."""
    return current().plugins.installed[plugin].manifest.settings


def _field(plugin: str, key: str) -> SettingField:
    for field in declared_settings(plugin):
        if field.key == key:
            return field
    raise KeyError(f"plugin {plugin!r} declares no setting {key!r}")


def configured_value(plugin: str, field: SettingField) -> Any:
    """``rapport.toml``'s value (``[plugin] key = …``), else the declared default."""
    table = current().settings.extra.get(plugin)
    if isinstance(table, dict) and field.key in table:
        return table[field.key]
    return field.default


def coerce(field: SettingField, raw: Any) -> Any:
    """A submitted form value as the field's type; raises ``ValueError`` with a reason code."""
    if field.type == "bool":
        return raw in (True, "on", "true", "1", "yes")
    text = "" if raw is None else str(raw).strip()
    if field.type == "number":
        if _INTEGER.match(text):
            return int(text)
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            raise ValueError("number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("number")
        return value
    if field.type == "choice":
        if text not in field.choices:
            raise ValueError("choice")
        return text
    if len(text) > TEXT_LIMIT:
        raise ValueError("too_long")
    return text


async def stored_values(plugin: str) -> dict[str, Any]:
    """What administrators saved for ``plugin`` (one query), keyed by setting key."""
    prefix = _storage_key(plugin, "")
    rows = await InstanceSetting.select(InstanceSetting.key, InstanceSetting.value).where(
        InstanceSetting.key.like(prefix + "%")
    )
    return {
        r["key"][len(prefix) :]: _decode(r["value"])
        for r in rows
        if r["key"].startswith(prefix) and r["value"] is not None
    }


async def effective_settings(plugin: str) -> dict[str, Any]:
    """Every declared setting's effective value."""
    stored = await stored_values(plugin)
    return {
        field.key: stored[field.key] if field.key in stored else configured_value(plugin, field)
        for field in declared_settings(plugin)
    }


async def plugin_setting(plugin: str, key: str) -> Any:
    """The effective value of one setting of ``plugin``: stored, else ``rapport.toml``,
    else the manifest's default. Raises ``KeyError`` if the plugin declares no such setting."""
    field = _field(plugin, key)
    row = (
        await InstanceSetting.select(InstanceSetting.value)
        .where(InstanceSetting.key == _storage_key(plugin, key))
        .first()
    )
    if row is not None and row["value"] is not None:
        return _decode(row["value"])
    return configured_value(plugin, field)


async def save_plugin_settings(plugin: str, submitted: dict[str, Any]) -> dict[str, Any]:
    """Check every declared field of ``submitted`` (a form: a missing checkbox is False) and
    store them all, or raise :class:`PluginSettingsError` with every problem and store none."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in declared_settings(plugin):
        try:
            values[field.key] = coerce(field, submitted.get(field.key))
        except ValueError as exc:
            errors[field.key] = str(exc)
    if errors:
        raise PluginSettingsError(errors)
    async with transaction():
        keys = [_storage_key(plugin, key) for key in values]
        if keys:
            await InstanceSetting.delete().where(InstanceSetting.key.is_in(keys))
            await InstanceSetting.insert(
                *[
                    InstanceSetting(key=_storage_key(plugin, k), value=json.dumps(v))
                    for k, v in values.items()
                ]
            )
    return values
