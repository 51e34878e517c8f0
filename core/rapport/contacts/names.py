"""Names of many contacts at once, for lists that show a contact beside each row."""

from __future__ import annotations

from rapport.contacts.tables import Contact


async def contact_names(ids: set[int | None] | list[int | None]) -> dict[int, str]:
    """``{id: name}`` of the given contacts in one query; unknown ids are left out."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await Contact.select(Contact.id, Contact.name).where(Contact.id.is_in(wanted))
    return {r["id"]: r["name"] for r in rows}
