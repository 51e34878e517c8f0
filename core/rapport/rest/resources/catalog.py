"""``/api/v1/tags`` and ``/api/v1/custom-fields``: the vocabularies contacts use."""

from __future__ import annotations

from litestar import get

from rapport.contacts.custom_fields_store import defined_fields
from rapport.contacts.tables import Tag
from rapport.rest.pagination import ApiCursor, ApiLimit, cursor_page, decode_cursor
from rapport.rest.resources.models import CustomFieldList, CustomFieldOut, TagOut, TagPage
from rapport.rest.scopes import requires_scope

READ = [requires_scope("contacts:read")]


@get("/tags", guards=READ, operation_id="listTags")
async def list_tags(limit: ApiLimit = 50, cursor: ApiCursor = None) -> TagPage:
    """Tags by id."""
    query = Tag.select(Tag.id, Tag.name, Tag.colour)
    after = decode_cursor("tags", cursor, 1)
    if after is not None:
        query = query.where(Tag.id > int(after[0]))
    rows = await query.order_by(Tag.id).limit(limit + 1)
    page, next_cursor = cursor_page(rows, limit, "tags", lambda r: [r["id"]])
    return TagPage(
        data=[TagOut(id=r["id"], name=r["name"], colour=r["colour"]) for r in page],
        next_cursor=next_cursor,
    )


@get("/custom-fields", guards=READ, operation_id="listCustomFields")
async def list_custom_fields() -> CustomFieldList:
    """Every custom field contacts may carry (a short configuration list: one page)."""
    fields = await defined_fields()
    return CustomFieldList(
        data=[
            CustomFieldOut(
                key=f.key, label=f.label, type=f.type, choices=[str(c) for c in f.choices]
            )
            for f in fields.values()
        ]
    )


ROUTES = [list_tags, list_custom_fields]
