"""Permissions: named capabilities granted to roles."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "manager", "staff")


@dataclass(frozen=True)
class Permission:
    name: str
    description: str
    default_roles: tuple[str, ...] = ("admin",)


CORE_PERMISSIONS = [
    Permission("contacts.view", "See contacts", ROLES),
    Permission("contacts.edit", "Create and edit contacts", ROLES),
    Permission("contacts.merge", "Merge duplicate contacts", ("admin", "manager")),
    Permission("contacts.archive", "Archive contacts", ("admin", "manager")),
    Permission("contacts.view_all", "See every contact whatever its owner", ("admin", "manager")),
    Permission("contacts.import", "Import contacts", ("admin", "manager")),
    Permission("contacts.export", "Export contacts", ("admin", "manager")),
    Permission("activities.log", "Log notes, calls, meetings and tasks", ROLES),
    Permission("users.manage", "Manage users and roles", ("admin",)),
    Permission("plugins.manage", "Enable and disable plugins", ("admin",)),
    Permission("settings.manage", "Change instance settings", ("admin",)),
]
