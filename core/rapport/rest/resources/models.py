"""Response and request bodies of the core resources, as msgspec Structs (exact schemas)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from rapport.rest.resources.common import MAX_ID

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


class EmailOut(msgspec.Struct):
    email: str  # as typed
    label: str


class PhoneOut(msgspec.Struct):
    e164: str  # normalised, e.g. +74951234567
    raw: str  # as typed
    label: str


class CompanyRef(msgspec.Struct):
    id: int
    name: str


class UserRef(msgspec.Struct):
    id: int
    name: str


class ActivityOut(msgspec.Struct):
    """An entry of a contact's timeline; tasks have ``due_at``, ``assignee_id``, ``done_at``."""

    id: int
    contact_id: int
    kind: str
    occurred_at: dt.datetime
    author_id: int | None
    subject_type: str
    subject_id: str
    body: str
    payload: dict[str, Any]
    due_at: dt.datetime | None
    assignee_id: int | None
    done_at: dt.datetime | None
    created_at: dt.datetime


class ContactOut(msgspec.Struct):
    """A person or a company. ``company``, ``owner`` and ``activities`` are present only when
    asked for with ``expand``."""

    id: int
    kind: str
    name: str
    first_name: str
    last_name: str
    position: str
    street: str
    city: str
    region: str
    postcode: str
    country: str
    source: str
    company_id: int | None
    owner_id: int | None
    archived: bool
    custom: dict[str, Any]
    emails: list[EmailOut]
    phones: list[PhoneOut]
    tags: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    company: CompanyRef | UnsetType | None = UNSET
    owner: UserRef | UnsetType | None = UNSET
    activities: list[ActivityOut] | UnsetType = UNSET


class ContactPage(msgspec.Struct):
    data: list[ContactOut]
    next_cursor: str | None


class ActivityPage(msgspec.Struct):
    data: list[ActivityOut]
    next_cursor: str | None


Label = Annotated[str, msgspec.Meta(max_length=40)]


class EmailIn(msgspec.Struct, forbid_unknown_fields=True):
    """An email as typed; ``label`` defaults to "work"."""

    value: Annotated[str, msgspec.Meta(max_length=254)]
    label: Label | None = None


class PhoneIn(msgspec.Struct, forbid_unknown_fields=True):
    """A phone as typed, in any format; ``label`` defaults to "mobile"."""

    value: Annotated[str, msgspec.Meta(max_length=64)]
    label: Label | None = None


class ContactCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new contact. A person needs a first or last name, a company a ``name``.
    ``owner_id`` defaults to the token's user."""

    kind: Literal["person", "company"] = "person"
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    position: str = ""
    street: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""
    source: str = ""
    company_id: Id | None = None
    owner_id: Id | UnsetType | None = UNSET
    emails: list[EmailIn] = msgspec.field(default_factory=list)
    phones: list[PhoneIn] = msgspec.field(default_factory=list)
    tags: list[str] = msgspec.field(default_factory=list)
    custom: dict[str, Any] = msgspec.field(default_factory=dict)


class ContactPatch(msgspec.Struct, forbid_unknown_fields=True):
    """The fields to change; ``emails``, ``phones`` and ``tags`` replace the lists,
    ``custom`` is merged (a null value removes a key)."""

    first_name: str | UnsetType = UNSET
    last_name: str | UnsetType = UNSET
    name: str | UnsetType = UNSET
    position: str | UnsetType = UNSET
    street: str | UnsetType = UNSET
    city: str | UnsetType = UNSET
    region: str | UnsetType = UNSET
    postcode: str | UnsetType = UNSET
    country: str | UnsetType = UNSET
    source: str | UnsetType = UNSET
    company_id: Id | UnsetType | None = UNSET
    owner_id: Id | UnsetType | None = UNSET
    emails: list[EmailIn] | UnsetType = UNSET
    phones: list[PhoneIn] | UnsetType = UNSET
    tags: list[str] | UnsetType = UNSET
    custom: dict[str, Any] | UnsetType = UNSET


def present_fields(body: msgspec.Struct) -> dict[str, Any]:
    """The fields a request body set, as the plain data the core services take."""
    data: dict[str, Any] = {}
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if value is UNSET:
            continue
        if name in ("emails", "phones"):
            value = [{"value": c.value, "label": c.label} for c in value]
        data[name] = value
    return data


class ActivityCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A timeline entry to log. ``kind`` is a registered activity kind (note, call, email,
    meeting, task, or a plugin's); times carry a time zone; only tasks take ``due_at`` and
    ``assignee_id``."""

    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    body: str = ""
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    occurred_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    assignee_id: Id | None = None
    subject_type: Annotated[str, msgspec.Meta(max_length=60)] = ""
    subject_id: Annotated[str, msgspec.Meta(max_length=64)] = ""


class TagOut(msgspec.Struct):
    id: int
    name: str
    colour: str


class TagPage(msgspec.Struct):
    data: list[TagOut]
    next_cursor: str | None


class CustomFieldOut(msgspec.Struct):
    key: str
    label: str
    type: str  # text, number, date, choice or bool
    choices: list[str]


class CustomFieldList(msgspec.Struct):
    data: list[CustomFieldOut]


def activity_out(row: dict[str, Any]) -> ActivityOut:
    payload = row["payload"]
    return ActivityOut(
        id=row["id"],
        contact_id=row["contact"],
        kind=row["kind"],
        occurred_at=row["occurred_at"],
        author_id=row["author"],
        subject_type=row["subject_type"],
        subject_id=row["subject_id"],
        body=row["body"],
        payload=payload if isinstance(payload, dict) else {},
        due_at=row["due_at"],
        assignee_id=row["assignee"],
        done_at=row["done_at"],
        created_at=row["created_at"],
    )


def contact_out(row: dict[str, Any]) -> ContactOut:
    return ContactOut(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        position=row["position"],
        street=row["street"],
        city=row["city"],
        region=row["region"],
        postcode=row["postcode"],
        country=row["country"],
        source=row["source"],
        company_id=row["company"],
        owner_id=row["owner"],
        archived=row["archived"],
        custom=row["custom"] if isinstance(row["custom"], dict) else {},
        emails=[EmailOut(email=e["email"], label=e["label"]) for e in row["emails"]],
        phones=[PhoneOut(e164=p["e164"], raw=p["raw"], label=p["label"]) for p in row["phones"]],
        tags=list(row["tags"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
