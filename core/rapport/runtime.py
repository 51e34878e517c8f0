"""The running instance: settings, engine, plugins and what enabled plugins declared."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from piccolo.engine.base import Engine

from rapport.activities.kinds import ActivityKind
from rapport.contacts.custom_fields import CustomField
from rapport.events.base import Event
from rapport.plugins.registry import PluginRegistry
from rapport.settings import Settings
from rapport.users.permissions import Permission

log = logging.getLogger(__name__)


class DeclarationError(Exception):
    """Two enabled plugins declare the same name (event type, activity kind, permission)."""


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    plugins: PluginRegistry
    event_types: dict[str, type[Event]] = field(default_factory=dict)
    activity_kinds: dict[str, ActivityKind] = field(default_factory=dict)
    permissions: dict[str, Permission] = field(default_factory=dict)
    custom_fields: dict[str, CustomField] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # per-process caches by owner

    def refresh_declarations(self) -> None:
        """Re-collect what the enabled plugins (and the core defaults) declare."""
        self.event_types = _unique(
            self.plugins.collect("register_event_types"), "type", "event type"
        )
        self.activity_kinds = _unique(
            self.plugins.collect("register_activity_kinds"), "name", "activity kind"
        )
        self.permissions = _unique(
            self.plugins.collect("register_permissions"), "name", "permission"
        )
        self.state.pop("custom_fields_loaded", None)


def _unique(items: list[Any], attr: str, what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        key = getattr(item, attr)
        if key in found and found[key] is not item:
            raise DeclarationError(f"{what} {key!r} is declared twice")
        found[key] = item
    return found


_current: Runtime | None = None


def set_current(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("Rapport is not started: call rapport.bootstrap.start() first")
    return _current
