"""Business-type presets: one step that enables the plugins a kind of business needs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BusinessType:
    name: str
    title: str
    description: str = ""
    plugins: tuple[str, ...] = ()
    settings: dict[str, object] = field(default_factory=dict)


def merge_presets(presets: list[BusinessType]) -> dict[str, BusinessType]:
    """Join presets of the same name that several plugins declare."""
    merged: dict[str, BusinessType] = {}
    for preset in presets:
        known = merged.get(preset.name)
        if known is None:
            merged[preset.name] = preset
            continue
        plugins = known.plugins + tuple(p for p in preset.plugins if p not in known.plugins)
        merged[preset.name] = BusinessType(
            name=known.name,
            title=known.title or preset.title,
            description=known.description or preset.description,
            plugins=plugins,
            settings={**preset.settings, **known.settings},
        )
    return merged
