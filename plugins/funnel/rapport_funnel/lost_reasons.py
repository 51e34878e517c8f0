"""The admin-edited list of reasons a deal is lost."""

from __future__ import annotations

from typing import Any

from rapport.api import gettext as _

from rapport_funnel.errors import FunnelError
from rapport_funnel.tables import FunnelLostReason


async def list_reasons(*, include_inactive: bool = False) -> list[dict[str, Any]]:
    query = FunnelLostReason.select().order_by(FunnelLostReason.sort).order_by(FunnelLostReason.id)
    if not include_inactive:
        query = query.where(FunnelLostReason.active == True)  # noqa: E712
    return await query


async def add_reason(name: str) -> int:
    name = (name or "").strip()
    if not name:
        raise FunnelError({"name": _("Name the reason.")})
    if len(name) > 120:
        raise FunnelError({"name": _("At most 120 characters.")})
    existing = await FunnelLostReason.select().where(FunnelLostReason.name == name).first()
    if existing is not None:
        if existing["active"]:
            raise FunnelError({"name": _("This reason is in the list already.")})
        await FunnelLostReason.update({FunnelLostReason.active: True}).where(
            FunnelLostReason.id == existing["id"]
        )
        return existing["id"]
    sort = await FunnelLostReason.count()
    rows = await FunnelLostReason.insert(FunnelLostReason(name=name, sort=sort)).returning(
        FunnelLostReason.id
    )
    return rows[0]["id"]


async def set_reason_active(reason_id: int, active: bool) -> None:
    """Retire a reason (deals keep it) or bring it back."""
    await FunnelLostReason.update({FunnelLostReason.active: active}).where(
        FunnelLostReason.id == reason_id
    )
