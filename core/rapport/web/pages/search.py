"""Pages: the global search box (an htmx partial as you type) and its full results page.

Matching, ordering and record visibility are :func:`rapport.contacts.search.search_contacts`;
this module shows its hits the way a person picks the right one: the name, the company and
the channel that matched.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from rapport.contacts.phones import format_international
from rapport.contacts.search import search_contacts
from rapport.web.pages.contact_common import VIEW, is_htmx, require
from rapport.web.rendering import fragment, page, request_restriction

BOX_LIMIT = 8
PAGE_LIMIT = 50


def _matched(hit: dict[str, Any]) -> str | None:
    """The channel that matched, as people read it: a phone in international format."""
    if hit.get("matched") == "phone" and hit.get("phone"):
        return format_international(hit["phone"])
    if hit.get("matched") == "email":
        return hit.get("email")
    return None


async def find(
    request: Request, q: str, *, limit: int = BOX_LIMIT, include_archived: bool = False
) -> list[dict[str, Any]]:
    """Hits the user may open, best first, each with its company and the channel that
    matched. Record visibility is applied by the search itself (``visible_to``)."""
    query = q.strip()
    if not query:
        return []
    hits = await search_contacts(
        query,
        limit=limit,
        include_archived=include_archived,
        visible_to=await request_restriction(request),
    )
    return [{**hit, "matched": _matched(hit)} for hit in hits]


@get("/search", name="search")
async def search(request: Request, q: FromQuery[str] = "") -> Template:
    """As-you-type answers are a short list of links; the full page lists more."""
    await require(request, VIEW)
    if is_htmx(request):
        return fragment("search/_results.html", q=q, hits=await find(request, q))
    hits = await find(request, q, limit=PAGE_LIMIT)
    return await page(request, "search/page.html", q=q, hits=hits)


ROUTES = [search]
