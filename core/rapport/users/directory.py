"""Reading users for pickers and for names shown beside records (owners, authors)."""

from __future__ import annotations

from rapport.users.tables import User


async def active_users() -> list[tuple[int, str]]:
    """Active users as ``(id, name)`` pairs sorted by name, for owner and assignee pickers."""
    rows = (
        await User.select(User.id, User.name)
        .where(User.is_active == True)  # noqa: E712 - Piccolo builds SQL from ==
        .order_by(User.name)
    )
    return [(r["id"], r["name"]) for r in rows]


async def user_names(ids: set[int | None] | list[int | None]) -> dict[int, str]:
    """Names of the given users in one query (``{id: name}``); unknown ids are left out."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await User.select(User.id, User.name).where(User.id.is_in(wanted))
    return {r["id"]: r["name"] for r in rows}
