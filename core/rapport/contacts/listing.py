"""The contact list: filters, two sort orders and keyset pagination.

A page is read with a fixed number of queries whatever its size: one for the contacts (with
their company's and owner's names joined in), one for their emails, phones and tags.
Pages continue from a cursor holding the sort key of the last row shown, so page 500 costs
what page 1 does; the sort orders match the ``rapport_contact_list``,
``rapport_contact_owner_list`` and ``rapport_contact_recent`` indexes.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns.combination import Where
from piccolo.query.methods.select import Select

from rapport.contacts.phones import format_international
from rapport.contacts.tables import Contact, ContactTag, Tag
from rapport.db.statements import Statement

SORTS = ("name", "recent")
# Orders the API offers besides: "id" (creation order; rows added later come last).
API_SORTS = (*SORTS, "id")
KINDS = ("person", "company")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class ListFilters:
    """What the user narrowed the list to; every field optional.

    ``owner`` is ``""`` (anyone), ``"mine"``, ``"unassigned"`` or a user id as text.
    """

    kind: str = ""
    tag: str = ""
    owner: str = ""
    source: str = ""
    company: int | None = None
    archived: bool = False
    sort: str = "name"
    updated_since: dt.datetime | None = None  # API only: changed at or after this time

    @classmethod
    def from_query(cls, params: dict[str, Any]) -> ListFilters:
        """Read filters from query parameters, dropping values that mean nothing."""
        kind = str(params.get("kind") or "")
        owner = str(params.get("owner") or "")
        sort = str(params.get("sort") or "name")
        company = str(params.get("company") or "")
        return cls(
            kind=kind if kind in KINDS else "",
            tag=str(params.get("tag") or "").strip()[:80],
            owner=owner if owner in ("mine", "unassigned") or owner.isdigit() else "",
            source=str(params.get("source") or "").strip()[:100],
            company=int(company) if company.isdigit() else None,
            archived=str(params.get("archived") or "") in ("1", "on", "true"),
            sort=sort if sort in SORTS else "name",
        )

    def as_query(self) -> dict[str, str]:
        """The non-default filters as query parameters (for links that keep them)."""
        query = {
            "kind": self.kind,
            "tag": self.tag,
            "owner": self.owner,
            "source": self.source,
            "company": str(self.company) if self.company else "",
            "archived": "1" if self.archived else "",
            "sort": self.sort if self.sort != "name" else "",
        }
        return {k: v for k, v in query.items() if v}


@dataclass
class ContactRow:
    id: int
    kind: str
    name: str
    company_id: int | None
    company_name: str | None
    owner_id: int | None
    owner_name: str | None
    source: str
    archived: bool
    updated_at: dt.datetime
    email: str | None = None
    phone: str | None = None  # E.164
    phone_display: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class ContactPage:
    rows: list[ContactRow]
    next_cursor: str | None


# --- cursors ------------------------------------------------------------------------------------


def encode_cursor(sort: str, row: ContactRow) -> str:
    """An opaque, URL-safe token of the last row's sort key."""
    key: Any
    if sort == "name":
        key = row.name
    elif sort == "id":
        key = row.id
    else:
        key = row.updated_at.isoformat()
    raw = json.dumps([sort, key, row.id], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: str, token: str | None) -> tuple[Any, int] | None:
    """The sort key and id a cursor holds, or None for a missing, foreign or broken one
    (an edited URL then simply shows the first page)."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor_sort, key, last_id = json.loads(raw)
        if cursor_sort != sort or not isinstance(last_id, int):
            return None
        if sort == "id":
            return int(key), last_id
        if sort == "recent":
            moment = dt.datetime.fromisoformat(key)
            return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)), last_id
        return str(key), last_id
    except (ValueError, TypeError):
        return None


# --- the query ----------------------------------------------------------------------------------


async def _tag_id(name: str) -> int | None:
    """The tag's id, matched case-insensitively (tags are few: compared in Python, which
    also folds non-ASCII case the way SQLite's ``LIKE`` does not)."""
    row = await Tag.select(Tag.id).where(Tag.name == name).first()
    if row is not None:
        return row["id"]
    wanted = name.casefold()
    for tag in await Tag.select(Tag.id, Tag.name):
        if tag["name"].casefold() == wanted:
            return tag["id"]
    return None


def _owner_clause(owner: str, user_id: int) -> Where | None:
    if owner == "mine":
        return Contact.owner == user_id
    if owner == "unassigned":
        return Contact.owner.is_null()
    if owner.isdigit():
        return Contact.owner == int(owner)
    return None


def _after_clause(sort: str, after: tuple[Any, int]) -> Any:
    """Rows after the cursor in sort order, written as a range on the sort key first
    (``name >= k AND (name > k OR id > i)``): with the company and owner joins, SQLite's
    planner does not turn the plain ``name > k OR (name = k AND id > i)`` into an index range
    and walked the list from its start, 0.6 s for page 10,000 at a million contacts."""
    key, last_id = after
    if sort == "name":
        return (Contact.name >= key) & ((Contact.name > key) | (Contact.id > last_id))
    if sort == "id":
        return Contact.id > last_id
    return (Contact.updated_at <= key) & ((Contact.updated_at < key) | (Contact.id < last_id))


async def _filtered(filters: ListFilters, *, user_id: int, restricted: int | None) -> Select | None:
    """The select with every filter applied, or None when a filter can match nothing."""
    query = Contact.select(
        Contact.id,
        Contact.kind,
        Contact.name,
        Contact.company,
        Contact.company.name.as_alias("company_name"),
        Contact.owner,
        Contact.owner.name.as_alias("owner_name"),
        Contact.source,
        Contact.archived,
        Contact.updated_at,
    ).where(Contact.archived == filters.archived)
    if restricted is not None:
        query = query.where((Contact.owner == restricted) | Contact.owner.is_null())
    owner = _owner_clause(filters.owner, user_id)
    if owner is not None:
        query = query.where(owner)
    if filters.kind:
        query = query.where(Contact.kind == filters.kind)
    if filters.source:
        query = query.where(Contact.source == filters.source)
    if filters.company:
        query = query.where(Contact.company == filters.company)
    if filters.updated_since is not None:
        query = query.where(Contact.updated_at >= filters.updated_since)
    if filters.tag:
        tag_id = await _tag_id(filters.tag)
        if tag_id is None:
            return None
        query = query.where(
            Contact.id.is_in(ContactTag.select(ContactTag.contact).where(ContactTag.tag == tag_id))
        )
    return query


async def list_contacts(
    filters: ListFilters,
    *,
    user_id: int,
    restricted: int | None,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> ContactPage:
    """One page of contacts the user may see; ``after`` is the previous page's cursor.

    ``restricted`` is what :func:`rapport.users.visibility.restricted_to` returned: with an
    owner id, only that owner's and unassigned contacts are listed.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = await _filtered(filters, user_id=user_id, restricted=restricted)
    if query is None:
        return ContactPage([], None)
    cursor = decode_cursor(filters.sort, after)
    if cursor is not None:
        query = query.where(_after_clause(filters.sort, cursor))
    if filters.sort == "name":
        query = query.order_by(Contact.name, Contact.id)
    elif filters.sort == "id":
        query = query.order_by(Contact.id)
    else:
        query = query.order_by(Contact.updated_at, Contact.id, ascending=False)
    found = await query.limit(limit + 1)
    rows = [_row(r) for r in found[:limit]]
    await attach_channels(rows)
    next_cursor = encode_cursor(filters.sort, rows[-1]) if len(found) > limit else None
    return ContactPage(rows, next_cursor)


def _row(record: dict[str, Any]) -> ContactRow:
    return ContactRow(
        id=record["id"],
        kind=record["kind"],
        name=record["name"],
        company_id=record["company"],
        company_name=record["company_name"],
        owner_id=record["owner"],
        owner_name=record["owner_name"],
        source=record["source"],
        archived=record["archived"],
        updated_at=record["updated_at"],
    )


@functools.lru_cache(maxsize=64)
@functools.lru_cache(maxsize=8)
def _channels_statement(count: int) -> Statement:
    """First emails and phones and the tag names of ``count`` contacts in one fixed
    statement (emails and phones by id, tags by name). A list page runs it once; building
    the three ``IN`` queries with the query builder cost about as much as the rest of the
    page's data."""
    marks = ", ".join(["{}"] * count)
    return Statement(
        "SELECT 'e' AS part, contact, id AS n, email AS a FROM rapport_contact_email"
        f" WHERE contact IN ({marks})"
        " UNION ALL SELECT 'p', contact, id, e164 FROM rapport_contact_phone"
        f" WHERE contact IN ({marks})"
        " UNION ALL SELECT 't', ct.contact, NULL, t.name FROM rapport_contact_tag ct"
        f" JOIN rapport_tag t ON t.id = ct.tag WHERE ct.contact IN ({marks})"
        " ORDER BY part, n, a"
    )


async def attach_channels(rows: list[ContactRow]) -> None:
    """Fill the first email, first phone and the tags of every row: one query in all."""
    if not rows:
        return
    by_id = {row.id: row for row in rows}
    ids = list(by_id)
    found = await _channels_statement(len(ids)).fetch(*ids, *ids, *ids)
    for record in found:
        row = by_id[record["contact"]]
        if record["part"] == "e":
            if row.email is None:
                row.email = record["a"]
        elif record["part"] == "p":
            if row.phone is None:
                row.phone = record["a"]
                row.phone_display = format_international(record["a"])
        else:
            row.tags.append(record["a"])


async def all_tags(limit: int = 500) -> list[str]:
    """Tag names for the filter; tags are a short, curated list, not per-contact data."""
    rows = await Tag.select(Tag.name).order_by(Tag.name).limit(limit)
    return [r["name"] for r in rows]


async def company_choices(prefix: str, limit: int = 10) -> list[dict[str, Any]]:
    """Active companies whose name starts with ``prefix`` (as typed or capitalised).

    A range on the name keeps the ``rapport_contact_list`` index usable on both engines,
    unlike ``LIKE``/``ILIKE``, which SQLite cannot serve from a case-sensitive index.
    """
    text = prefix.strip()
    if not text:
        return []
    variants = list(dict.fromkeys([text, text[:1].upper() + text[1:], text.title(), text.upper()]))
    found: dict[int, dict[str, Any]] = {}
    for variant in variants:
        rows = (
            await Contact.select(Contact.id, Contact.name)
            .where(
                (Contact.archived == False)  # noqa: E712 - Piccolo builds SQL from ==
                & (Contact.name >= variant)
                & (Contact.name < variant + "\U0010ffff")
                & (Contact.kind == "company")
            )
            .order_by(Contact.name, Contact.id)
            .limit(limit)
        )
        for row in rows:
            found.setdefault(row["id"], row)
    return sorted(found.values(), key=lambda r: (r["name"], r["id"]))[:limit]


async def companies_named(name: str) -> list[dict[str, Any]]:
    """Active companies with exactly this name (case-insensitive where the engine can)."""
    text = name.strip()
    wanted = text.casefold()
    return [r for r in await company_choices(text, limit=50) if r["name"].casefold() == wanted]


async def people_of(company_id: int, restricted: int | None, limit: int = 50) -> list[ContactRow]:
    """The active people of a company the user may see, by name, with their channels."""
    query = await _filtered(
        ListFilters(company=company_id, kind="person"), user_id=0, restricted=restricted
    )
    assert query is not None  # no tag filter: always a query
    found = await query.order_by(Contact.name, Contact.id).limit(limit)
    rows = [_row(r) for r in found]
    await attach_channels(rows)
    return rows
