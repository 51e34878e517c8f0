"""A plugin's manifest: what it is, what it needs, where its tables live — as data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: The plugin API this core offers. A plugin built for another major version is refused.
API_VERSION = "1.0"

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,48}$")


@dataclass(frozen=True)
class SettingField:
    """One setting a plugin exposes to administrators."""

    key: str
    label: str
    type: str = "text"  # text, number, bool, choice
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class Manifest:
    """Declared at module level of a plugin as ``manifest = Manifest(...)``."""

    name: str
    title: str
    version: str
    api_version: str = API_VERSION
    description: str = ""
    category: str = ""
    requires: tuple[str, ...] = ()
    business_types: tuple[str, ...] = ()
    piccolo_app: str | None = None  # dotted path of the module holding APP_CONFIG
    settings: tuple[SettingField, ...] = field(default_factory=tuple)

    def problems(self) -> list[str]:
        """Why this manifest cannot be loaded by this core; empty when it can."""
        found: list[str] = []
        if not NAME_PATTERN.match(self.name):
            found.append(f"name {self.name!r} must be lower-case letters, digits and underscores")
        wanted = self.api_version.split(".")[0]
        offered = API_VERSION.split(".")[0]
        if wanted != offered:
            found.append(
                f"targets plugin API {self.api_version}, this Rapport offers {API_VERSION}"
            )
        return found
