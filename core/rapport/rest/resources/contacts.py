"""``/api/v1/contacts`` and ``/api/v1/companies``: people and companies.

Reads use the UI's listing (keyset pages) and visibility rules; writes go through the
contacts service, so validation, duplicate detection and events are the UI's too. A contact
the token's user may not see answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, patch, post
from litestar.params import FromQuery, JSONBody, Parameter

from rapport.activities.service import timeline
from rapport.contacts.batch import contacts_by_id
from rapport.contacts.dedupe import DuplicateContact
from rapport.contacts.listing import ListFilters, list_contacts
from rapport.contacts.service import (
    ContactNotFound,
    archive_contact,
    create_contact,
    get_contact,
    update_contact,
)
from rapport.contacts.validation import ValidationError
from rapport.rest import API_PREFIX
from rapport.rest.pagination import ApiCursor, ApiLimit
from rapport.rest.problems import ApiProblem, FieldError
from rapport.rest.resources.common import (
    MAX_ID,
    RecordId,
    duplicate,
    invalid,
    not_found,
    reject_nul,
    require_permission,
    user_of,
)
from rapport.rest.resources.models import (
    CompanyRef,
    ContactCreate,
    ContactOut,
    ContactPage,
    ContactPatch,
    UserRef,
    activity_out,
    contact_out,
    present_fields,
)
from rapport.rest.scopes import requires_scope
from rapport.users.tables import User
from rapport.users.visibility import can_see, restricted_to

READ = [requires_scope("contacts:read")]
WRITE = [requires_scope("contacts:write")]
EXPANSIONS = ("company", "owner", "activities")
EXPANDED_ACTIVITIES = 20

Expand = Annotated[
    str | None,
    Parameter(
        description="Comma-separated: company, owner, activities (the latest 20; one contact only)."
    ),
]
Owner = Annotated[
    str | None,
    Parameter(description='"me", "unassigned" or a user id.', pattern=r"^(me|unassigned|\d{1,9})$"),
]
Text = Annotated[str | None, Parameter(max_length=100)]
AllowDuplicate = Annotated[
    bool, Parameter(description="Create even when the email or phone is already known.")
]


def _expansions(expand: str | None, *, single: bool) -> set[str]:
    wanted = {part.strip() for part in (expand or "").split(",") if part.strip()}
    unknown = sorted(wanted - set(EXPANSIONS))
    if not single and "activities" in wanted:
        unknown.append("activities (only when reading one contact)")
    if unknown:
        raise ApiProblem(
            400,
            "Bad expand",
            f"cannot expand {', '.join(unknown)}",
            kind="invalid-request",
            errors=[FieldError(field="expand", message="unknown expansion", location="query")],
        )
    return wanted


def _aware(moment: dt.datetime | None, field: str) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ApiProblem(
            400,
            "Bad time",
            "times must carry a time zone (2026-12-01T10:00:00Z)",
            kind="invalid-request",
            errors=[FieldError(field=field, message="must carry a time zone", location="query")],
        )
    return moment


async def _visible(request: Request, contact_id: int, kind: str | None = None) -> dict[str, Any]:
    await require_permission(request, "contacts.view")
    what = kind or "contact"
    try:
        contact = await get_contact(contact_id)
    except ContactNotFound:
        raise not_found(what, contact_id) from None
    if kind is not None and contact["kind"] != kind:
        raise not_found(what, contact_id)
    if not can_see(contact["owner"], await restricted_to(user_of(request))):
        raise not_found(what, contact_id)
    return contact


async def _owner_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        r["id"]: r["name"]
        for r in await User.select(User.id, User.name).where(User.id.is_in(sorted(ids)))
    }


async def _one(contact: dict[str, Any], wanted: set[str]) -> ContactOut:
    out = contact_out(contact)
    if "company" in wanted:
        out.company = (
            CompanyRef(id=contact["company"], name=contact["company_name"] or "")
            if contact["company"]
            else None
        )
    if "owner" in wanted:
        names = await _owner_names({contact["owner"]} if contact["owner"] else set())
        out.owner = (
            UserRef(id=contact["owner"], name=names.get(contact["owner"], ""))
            if (contact["owner"])
            else None
        )
    if "activities" in wanted:
        rows = await timeline(contact["id"], limit=EXPANDED_ACTIVITIES)
        out.activities = [activity_out(r) for r in rows]
    return out


async def _page(
    request: Request,
    filters: ListFilters,
    limit: int,
    cursor: str | None,
    wanted: set[str],
) -> ContactPage:
    from rapport.contacts.listing import decode_cursor

    await require_permission(request, "contacts.view")
    user = user_of(request)
    if cursor and decode_cursor(filters.sort, cursor) is None:
        raise ApiProblem(
            400,
            "Bad cursor",
            "pass the next_cursor of the previous page unchanged, with the same sort",
            kind="bad-cursor",
            errors=[
                FieldError(field="cursor", message="is not a cursor of this list", location="query")
            ],
        )
    page = await list_contacts(
        filters,
        user_id=user["id"],
        restricted=await restricted_to(user),
        after=cursor,
        limit=limit,
    )
    full = await contacts_by_id([row.id for row in page.rows])
    owners = (
        await _owner_names({r.owner_id for r in page.rows if r.owner_id})
        if ("owner" in wanted)
        else {}
    )
    data = []
    for row in page.rows:
        if row.id not in full:
            continue  # deleted between the two reads
        out = contact_out(full[row.id])
        if "company" in wanted:
            out.company = (
                CompanyRef(id=row.company_id, name=row.company_name or "")
                if row.company_id
                else None
            )
        if "owner" in wanted:
            out.owner = (
                UserRef(id=row.owner_id, name=owners.get(row.owner_id, ""))
                if (row.owner_id)
                else None
            )
        data.append(out)
    return ContactPage(data=data, next_cursor=page.next_cursor)


def _filters(
    *,
    kind: str | None,
    tag: str | None,
    owner: str | None,
    source: str | None,
    company_id: int | None,
    archived: bool,
    updated_since: dt.datetime | None,
    sort: str,
) -> ListFilters:
    return ListFilters(
        kind=kind or "",
        tag=(tag or "").strip()[:80],
        owner={"me": "mine"}.get(owner or "", owner or ""),
        source=(source or "").strip()[:100],
        company=company_id,
        archived=archived,
        sort=sort,
        updated_since=_aware(updated_since, "updated_since"),
    )


async def _create(
    request: Request, data: dict[str, Any], allow_duplicate: bool, location: str
) -> Response[ContactOut]:
    await require_permission(request, "contacts.edit")
    reject_nul(data)
    user = user_of(request)
    data.setdefault("owner_id", user["id"])
    try:
        contact_id = await create_contact(
            data, actor_id=user["id"], allow_duplicate=allow_duplicate
        )
    except ValidationError as exc:
        raise invalid(exc.errors) from None
    except DuplicateContact as exc:
        raise await duplicate(request, exc) from None
    out = contact_out(await get_contact(contact_id))
    return Response(
        out, status_code=201, headers={"Location": f"{API_PREFIX}/{location}/{contact_id}"}
    )


async def _update(
    request: Request, contact_id: int, data: dict[str, Any], allow_duplicate: bool, kind: str | None
) -> ContactOut:
    await _visible(request, contact_id, kind)
    await require_permission(request, "contacts.edit")
    reject_nul(data)
    try:
        await update_contact(
            contact_id, data, actor_id=user_of(request)["id"], allow_duplicate=allow_duplicate
        )
    except ValidationError as exc:
        raise invalid(exc.errors) from None
    except DuplicateContact as exc:
        raise await duplicate(request, exc) from None
    return contact_out(await get_contact(contact_id))


# --- contacts ---------------------------------------------------------------------------------


@get("/contacts", guards=READ, operation_id="listContacts")
async def list_contacts_api(
    request: Request,
    limit: ApiLimit = 50,
    cursor: ApiCursor = None,
    sort: FromQuery[Literal["id", "name"]] = "id",
    kind: FromQuery[Literal["person", "company"] | None] = None,
    tag: Text = None,
    owner: Owner = None,
    source: Text = None,
    company_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
    archived: FromQuery[bool] = False,
    updated_since: FromQuery[dt.datetime | None] = None,
    expand: Expand = None,
) -> ContactPage:
    """Contacts the token's user may see. ``sort=id`` (the default) is creation order: rows
    created while paging appear at the end, none twice."""
    filters = _filters(
        kind=kind,
        tag=tag,
        owner=owner,
        source=source,
        company_id=company_id,
        archived=archived,
        updated_since=updated_since,
        sort=sort,
    )
    return await _page(request, filters, limit, cursor, _expansions(expand, single=False))


@get("/contacts/{contact_id:int}", guards=READ, operation_id="getContact")
async def get_contact_api(
    request: Request, contact_id: RecordId, expand: Expand = None
) -> ContactOut:
    wanted = _expansions(expand, single=True)
    return await _one(await _visible(request, contact_id), wanted)


@post("/contacts", guards=WRITE, operation_id="createContact")
async def create_contact_api(
    request: Request, data: JSONBody[ContactCreate], allow_duplicate: AllowDuplicate = False
) -> Response[ContactOut]:
    """Create a person or a company. A contact sharing an email or phone with an existing
    one is refused with 409, naming the existing ones in ``duplicates``."""
    return await _create(request, present_fields(data), allow_duplicate, "contacts")


@patch("/contacts/{contact_id:int}", guards=WRITE, operation_id="updateContact")
async def update_contact_api(
    request: Request,
    contact_id: RecordId,
    data: JSONBody[ContactPatch],
    allow_duplicate: AllowDuplicate = False,
) -> ContactOut:
    return await _update(request, contact_id, present_fields(data), allow_duplicate, None)


async def _archive(request: Request, contact_id: int, archived: bool) -> ContactOut:
    await _visible(request, contact_id)
    await require_permission(request, "contacts.archive")
    await archive_contact(contact_id, archived, actor_id=user_of(request)["id"])
    return contact_out(await get_contact(contact_id))


@post(
    "/contacts/{contact_id:int}/archive",
    guards=WRITE,
    status_code=200,
    operation_id="archiveContact",
)
async def archive_contact_api(request: Request, contact_id: RecordId) -> ContactOut:
    """Archive a contact (it leaves lists; its history stays). Idempotent."""
    return await _archive(request, contact_id, True)


@post(
    "/contacts/{contact_id:int}/restore",
    guards=WRITE,
    status_code=200,
    operation_id="restoreContact",
)
async def restore_contact_api(request: Request, contact_id: RecordId) -> ContactOut:
    """Bring an archived contact back. Idempotent."""
    return await _archive(request, contact_id, False)


# --- companies --------------------------------------------------------------------------------


@get("/companies", guards=READ, operation_id="listCompanies")
async def list_companies_api(
    request: Request,
    limit: ApiLimit = 50,
    cursor: ApiCursor = None,
    sort: FromQuery[Literal["id", "name"]] = "id",
    tag: Text = None,
    owner: Owner = None,
    source: Text = None,
    archived: FromQuery[bool] = False,
    updated_since: FromQuery[dt.datetime | None] = None,
    expand: Expand = None,
) -> ContactPage:
    """Companies the token's user may see (contacts of kind ``company``)."""
    filters = _filters(
        kind="company",
        tag=tag,
        owner=owner,
        source=source,
        company_id=None,
        archived=archived,
        updated_since=updated_since,
        sort=sort,
    )
    return await _page(request, filters, limit, cursor, _expansions(expand, single=False))


@get("/companies/{company_id:int}", guards=READ, operation_id="getCompany")
async def get_company_api(
    request: Request, company_id: RecordId, expand: Expand = None
) -> ContactOut:
    wanted = _expansions(expand, single=True)
    return await _one(await _visible(request, company_id, "company"), wanted)


@post("/companies", guards=WRITE, operation_id="createCompany")
async def create_company_api(
    request: Request, data: JSONBody[ContactCreate], allow_duplicate: AllowDuplicate = False
) -> Response[ContactOut]:
    """Create a company (``kind`` is set to company; give ``name``)."""
    fields = present_fields(data)
    fields["kind"] = "company"
    return await _create(request, fields, allow_duplicate, "companies")


@patch("/companies/{company_id:int}", guards=WRITE, operation_id="updateCompany")
async def update_company_api(
    request: Request,
    company_id: RecordId,
    data: JSONBody[ContactPatch],
    allow_duplicate: AllowDuplicate = False,
) -> ContactOut:
    return await _update(request, company_id, present_fields(data), allow_duplicate, "company")


ROUTES = [
    list_contacts_api,
    get_contact_api,
    create_contact_api,
    update_contact_api,
    archive_contact_api,
    restore_contact_api,
    list_companies_api,
    get_company_api,
    create_company_api,
    update_company_api,
]
