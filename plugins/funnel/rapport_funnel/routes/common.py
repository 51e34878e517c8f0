"""What the funnel's pages share: the signed-in user, form values, visibility of deals."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from rapport.api import can_see, request_permissions, request_restriction

from rapport_funnel.deals import get_deal
from rapport_funnel.errors import NotFound

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

PERIODS = ("7", "30", "90", "365")


def user_of(request: Request) -> dict[str, Any]:
    return request.scope["user"]  # type: ignore[typeddict-item]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def text(data: dict[str, Any], key: str, limit: int = 2000) -> str:
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()[:limit]


def int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


async def can(request: Request, permission: str) -> bool:
    # The core's permission set of the request: read once, shared with the contact pages.
    return permission in await request_permissions(request)


async def can_once(request: Request, permission: str) -> bool:
    """:func:`can` (the core reads the request's permissions once; the contact card asks
    twice, panel and action, and the core's own checks share the same set)."""
    return await can(request, permission)


async def require(request: Request, permission: str) -> None:
    if not await can(request, permission):
        raise PermissionDeniedException(f"needs permission {permission}")


async def restriction(request: Request) -> int | None:
    """The owner the user's deal lists are limited to (record visibility), or None: the
    core's answer for the request, which the contact card has read already."""
    return await request_restriction(request)


async def visible_deal(request: Request, deal_id: int) -> dict[str, Any]:
    """The deal, or 404 when it does not exist or the user may not see it."""
    try:
        deal = await get_deal(deal_id)
    except NotFound:
        raise NotFoundException() from None
    if not can_see(deal["owner_id"], await restriction(request)):
        raise NotFoundException()
    return deal


def period_start(period: str | None) -> dt.datetime | None:
    if period in PERIODS:
        return dt.datetime.now(dt.UTC) - dt.timedelta(days=int(period))
    return None
