"""Listing and applying business-type presets."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.plugins.presets import BusinessType, merge_presets
from rapport.plugins.registry import PluginError, PluginRegistry
from rapport.runtime import current

PRESET_SETTING = "business_type"


class PresetError(Exception):
    pass


def available_presets(registry: PluginRegistry) -> dict[str, BusinessType]:
    """Presets from the core and from every installed plugin (enabled or not)."""
    declared = registry.collect_from(registry.all_modules(), "register_business_types")
    # A plugin's manifest can name its business types instead of declaring a preset.
    for plugin in registry.installed.values():
        for business_type in plugin.manifest.business_types:
            declared.append(BusinessType(business_type, "", plugins=(plugin.name,)))
    return merge_presets(declared)


@dataclass(frozen=True)
class PresetResult:
    enabled: list[str]
    missing: list[str]  # plugins of the preset that are not installed here


async def apply_preset(name: str, actor_id: int | None = None) -> PresetResult:
    """Enable every plugin of preset ``name``; the ones not installed are reported, not fatal."""
    from rapport.db.transaction import transaction
    from rapport.plugins import state
    from rapport.plugins.tables import InstanceSetting

    registry = current().plugins
    presets = available_presets(registry)
    if name not in presets:
        raise PresetError(f"no preset {name!r}; known: {', '.join(sorted(presets))}")
    enabled: list[str] = []
    missing = [p for p in presets[name].plugins if p not in registry.installed]
    for plugin in presets[name].plugins:
        if plugin in missing:
            continue
        try:
            enabled.extend(await state.enable(plugin, actor_id))
        except PluginError as exc:
            raise PresetError(str(exc)) from exc
    async with transaction():
        await InstanceSetting.delete().where(InstanceSetting.key == PRESET_SETTING)
        await InstanceSetting.insert(InstanceSetting(key=PRESET_SETTING, value=f'"{name}"'))
    return PresetResult(enabled=enabled, missing=missing)
