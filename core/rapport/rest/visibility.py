"""Record visibility for API handlers, the same rule the UI applies."""

from __future__ import annotations

from typing import Any

from rapport.contacts.tables import Contact
from rapport.users.visibility import can_see, restricted_to


async def user_can_see_contact(user: dict[str, Any], contact_id: int) -> bool:
    """Whether ``user`` may see contact ``contact_id`` (False when it does not exist).

    For API handlers of plugins that expose per-contact records: answer 404, not 403, when
    this is False, so a record's existence does not leak to users who may not see it.
    """
    row = await Contact.select(Contact.owner).where(Contact.id == contact_id).first()
    if row is None:
        return False
    return can_see(row["owner"], await restricted_to(user))
