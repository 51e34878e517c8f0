"""Record visibility: who may see which contact.

The instance setting ``record_visibility`` is ``"all"`` (everyone sees every contact) or
``"own"`` (users without ``contacts.view_all`` see the contacts they own and unassigned ones).
Checked on the server for every page, partial and API call.
"""

from __future__ import annotations

import json
from typing import Any

from rapport.db.statements import Statement
from rapport.plugins.tables import InstanceSetting
from rapport.users.roles import has_permission

SETTING = "record_visibility"
MODES = ("all", "own")
_MODE = Statement("SELECT value FROM rapport_setting WHERE key = {} LIMIT 1")


async def visibility_mode() -> str:
    # Read on every contact page and search: a fixed statement, not one built by the query
    # builder each time (which cost several times the read).
    rows = await _MODE.fetch(SETTING)
    value = rows[0]["value"] if rows else None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    return value if value in MODES else "all"


async def set_visibility_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"record visibility must be one of {', '.join(MODES)}")
    await InstanceSetting.delete().where(InstanceSetting.key == SETTING)
    await InstanceSetting.insert(InstanceSetting(key=SETTING, value=f'"{mode}"'))


async def restricted_to(user: dict[str, Any]) -> int | None:
    """The owner id a user's contact queries must be limited to, or None for no limit."""
    if await visibility_mode() == "all":
        return None
    if await has_permission(user["role"], "contacts.view_all"):
        return None
    return int(user["id"])


def can_see(owner_id: int | None, restricted: int | None) -> bool:
    return restricted is None or owner_id is None or owner_id == restricted
