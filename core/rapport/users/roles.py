"""Role → permission grants."""

from __future__ import annotations

from rapport.users.permissions import Permission
from rapport.users.tables import RolePermission


async def grant_defaults(permissions: list[Permission]) -> None:
    """Grant each permission to its default roles, unless the pair exists already."""
    if not permissions:
        return
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
