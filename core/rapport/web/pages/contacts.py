"""Pages: the contact list; ``ROUTES`` gathers every contact page of the core.

The card, the forms and the timeline live in their own modules (``contact_card``,
``contact_forms``, ``contact_timeline``); they are mounted through this module's ``ROUTES``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Template

from rapport.contacts.listing import ListFilters, all_tags, list_contacts
from rapport.web.pages.contact_common import (
    VIEW,
    abilities,
    require,
    user_choices,
    user_of,
)
from rapport.web.rendering import page, request_restriction


def _query(request: Request) -> dict[str, Any]:
    return {key: request.query_params.get(key) for key in request.query_params}


def _link(filters: ListFilters, **extra: str) -> str:
    params = {**filters.as_query(), **{k: v for k, v in extra.items() if v}}
    return "/contacts" + (f"?{urlencode(params)}" if params else "")


@get("/contacts", name="contacts")
async def contact_list(request: Request) -> Template:
    """Filters are a plain GET form, so a filtered list is a link one can bookmark or send."""
    await require(request, VIEW)
    params = _query(request)
    filters = ListFilters.from_query(params)
    after = str(params.get("after") or "") or None
    result = await list_contacts(
        filters,
        user_id=int(user_of(request)["id"]),
        restricted=await request_restriction(request),
        after=after,
    )
    return await page(
        request,
        "contacts/list.html",
        filters=filters,
        rows=result.rows,
        next_url=_link(filters, after=result.next_cursor) if result.next_cursor else None,
        first_url=_link(filters) if after else None,
        tags=await all_tags(),
        owners=await user_choices(),
        can=await abilities(request),
    )


def _routes() -> list[Any]:
    from rapport.web.pages import contact_card, contact_forms, contact_timeline

    return [
        contact_list,
        *contact_forms.ROUTES,
        *contact_card.ROUTES,
        *contact_timeline.ROUTES,
    ]


ROUTES: list[Any] = _routes()
