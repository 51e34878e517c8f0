"""Role → permission grants."""

from __future__ import annotations

import json

from rapport.plugins.tables import InstanceSetting
from rapport.users.permissions import Permission
from rapport.users.tables import RolePermission

# Permissions whose default grants were written once; later changes are the admins' to make.
SEEDED_KEY = "permissions.seeded"


async def _seeded() -> set[str]:
    row = (
        await InstanceSetting.select(InstanceSetting.value)
        .where(InstanceSetting.key == SEEDED_KEY)
        .first()
        .output(load_json=True)
    )
    return set(row["value"] or []) if row else set()


async def _mark_seeded(names: set[str]) -> None:
    await InstanceSetting.delete().where(InstanceSetting.key == SEEDED_KEY)
    await InstanceSetting.insert(InstanceSetting(key=SEEDED_KEY, value=json.dumps(sorted(names))))


async def grant_defaults(permissions: list[Permission]) -> None:
    """Grant each newly declared permission to its default roles, once in the instance's life.

    A permission seen before is left alone, so an administrator's revocation survives
    restarts and re-enabling the plugin that declares it.
    """
    seeded = await _seeded()
    permissions = [p for p in permissions if p.name not in seeded]
    if not permissions:
        return
    await _mark_seeded(seeded | {p.name for p in permissions})
    names = [p.name for p in permissions]
    existing = {
        (r["role"], r["permission"])
        for r in await RolePermission.select(RolePermission.role, RolePermission.permission).where(
            RolePermission.permission.is_in(names)
        )
    }
    rows = [
        RolePermission(role=role, permission=p.name)
        for p in permissions
        for role in p.default_roles
        if (role, p.name) not in existing
    ]
    if rows:
        await RolePermission.insert(*rows)


async def permissions_of(role: str) -> set[str]:
    rows = await RolePermission.select(RolePermission.permission).where(RolePermission.role == role)
    return {r["permission"] for r in rows}


async def has_permission(role: str, permission: str) -> bool:
    if role == "admin":
        return True
    return await RolePermission.exists().where(
        (RolePermission.role == role) & (RolePermission.permission == permission)
    )
