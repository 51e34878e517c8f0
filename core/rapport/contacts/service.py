"""Creating, changing, archiving and reading contacts; every change publishes its event."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from rapport.contacts.dedupe import DuplicateContact, find_duplicates
from rapport.contacts.tables import Contact, ContactEmail, ContactPhone, ContactTag, Tag
from rapport.contacts.validation import CleanContact, ValidationError, clean_contact
from rapport.db.statements import Statement
from rapport.db.transaction import transaction
from rapport.events.bus import publish
from rapport.events.core_events import ContactArchived, ContactCreated, ContactUpdated
from rapport.runtime import current
from rapport.users.tables import User


class ContactNotFound(LookupError):
    def __init__(self, contact_id: int) -> None:
        super().__init__(f"contact {contact_id} does not exist")
        self.contact_id = contact_id


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _check_references(clean: CleanContact, contact_id: int | None = None) -> None:
    errors = {}
    company = clean.fields.get("company")
    if company is not None:
        row = await Contact.select(Contact.kind).where(Contact.id == company).first()
        if row is None:
            errors["company_id"] = "no such company"
        elif row["kind"] != "company":
            errors["company_id"] = "is a person, not a company"
        elif company == contact_id:
            errors["company_id"] = "a company cannot belong to itself"
    owner = clean.fields.get("owner")
    if owner is not None and not await User.exists().where(User.id == owner):
        errors["owner_id"] = "no such user"
    if errors:
        raise ValidationError(errors)


async def create_contact(
    data: dict[str, Any], *, actor_id: int | None = None, allow_duplicate: bool = False
) -> int:
    """Create a contact from ``data`` and return its id.

    Raises :class:`ValidationError` (field → message) or, unless ``allow_duplicate``,
    :class:`DuplicateContact` naming the contacts that share an email or phone.
    """
    region = current().settings.phone_region
    clean = await clean_contact(data, region=region)
    async with transaction():
        await _check_references(clean)
        if not allow_duplicate:
            matches = await find_duplicates(
                [e.normalized for e in clean.emails or []],
                [p.phone.e164 for p in clean.phones or []],
            )
            if matches:
                raise DuplicateContact(matches)
        now = _now()
        fields = dict(clean.fields)
        rows = await Contact.insert(
            Contact(
                **fields,
                custom=json.dumps(clean.custom or {}),
                created_at=now,
                updated_at=now,
            )
        ).returning(Contact.id)
        contact_id = rows[0]["id"]
        await _replace_channels(contact_id, clean, fresh=True)
        if clean.tags:
            await _replace_tags(contact_id, clean.tags)
        await publish(
            ContactCreated(
                contact_id=contact_id,
                kind=fields["kind"],
                name=fields.get("name", ""),
                owner_id=fields.get("owner"),
                source=fields.get("source", ""),
            ),
            actor_id,
        )
    return contact_id


async def update_contact(
    contact_id: int,
    data: dict[str, Any],
    *,
    actor_id: int | None = None,
    allow_duplicate: bool = False,
) -> dict[str, list[Any]]:
    """Apply the keys present in ``data``; return the changes as field → [old, new].

    ``emails``, ``phones`` and ``tags``, when given, replace the contact's lists; ``custom``
    values are merged into the stored ones (``None`` removes a key).
    """
    region = current().settings.phone_region
    async with transaction():
        stored = await get_contact(contact_id)
        clean = await clean_contact(data, region=region, partial=True, current=_as_fields(stored))
        await _check_references(clean, contact_id)
        if not allow_duplicate and (clean.emails or clean.phones):
            matches = await find_duplicates(
                [e.normalized for e in clean.emails or []],
                [p.phone.e164 for p in clean.phones or []],
                exclude_id=contact_id,
            )
            if matches:
                raise DuplicateContact(matches)
        changes = _field_changes(stored, clean)
        if clean.custom is not None:
            merged = {**stored["custom"], **clean.custom}
            merged = {k: v for k, v in merged.items() if v is not None}
            if merged != stored["custom"]:
                changes["custom"] = [stored["custom"], merged]
        if clean.emails is not None:
            new = [e.email for e in clean.emails]
            if new != [e["email"] for e in stored["emails"]]:
                changes["emails"] = [[e["email"] for e in stored["emails"]], new]
        if clean.phones is not None:
            new = [p.phone.e164 for p in clean.phones]
            if new != [p["e164"] for p in stored["phones"]]:
                changes["phones"] = [[p["e164"] for p in stored["phones"]], new]
        if clean.tags is not None and {t.casefold() for t in clean.tags} != {
            t.casefold() for t in stored["tags"]
        }:
            changes["tags"] = [stored["tags"], clean.tags]
        if not changes:
            return {}
        values: dict[Any, Any] = {
            getattr(Contact, key): new
            for key, (_old, new) in changes.items()
            if key in CONTACT_COLUMNS
        }
        if "custom" in changes:
            values[Contact.custom] = json.dumps(changes["custom"][1])
        values[Contact.updated_at] = _now()
        await Contact.update(values).where(Contact.id == contact_id)
        if "emails" in changes or "phones" in changes:
            await _replace_channels(contact_id, clean)
        if "tags" in changes:
            await _replace_tags(contact_id, clean.tags or [])
        await publish(ContactUpdated(contact_id=contact_id, changes=changes), actor_id)
    return changes


CONTACT_COLUMNS = {
    "kind",
    "name",
    "first_name",
    "last_name",
    "company",
    "position",
    "street",
    "city",
    "region",
    "postcode",
    "country",
    "source",
    "owner",
}


def _as_fields(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: stored[k] for k in CONTACT_COLUMNS}


def _field_changes(stored: dict[str, Any], clean: CleanContact) -> dict[str, list[Any]]:
    return {
        key: [stored[key], value]
        for key, value in clean.fields.items()
        if key in CONTACT_COLUMNS and stored[key] != value
    }


async def archive_contact(
    contact_id: int, archived: bool = True, *, actor_id: int | None = None
) -> None:
    async with transaction():
        row = await Contact.select(Contact.archived).where(Contact.id == contact_id).first()
        if row is None:
            raise ContactNotFound(contact_id)
        if row["archived"] == archived:
            return
        await Contact.update({Contact.archived: archived, Contact.updated_at: _now()}).where(
            Contact.id == contact_id
        )
        await publish(ContactArchived(contact_id=contact_id, archived=archived), actor_id)


async def _replace_channels(contact_id: int, clean: CleanContact, fresh: bool = False) -> None:
    """Make the contact's emails and phones the cleaned lists; ``fresh``: a contact created in
    this transaction, which has none to delete (two statements saved per creation)."""
    if clean.emails is not None:
        if not fresh:
            await ContactEmail.delete().where(ContactEmail.contact == contact_id)
        if clean.emails:
            await ContactEmail.insert(
                *[
                    ContactEmail(
                        contact=contact_id, email=e.email, normalized=e.normalized, label=e.label
                    )
                    for e in clean.emails
                ]
            )
    if clean.phones is not None:
        if not fresh:
            await ContactPhone.delete().where(ContactPhone.contact == contact_id)
        if clean.phones:
            await ContactPhone.insert(
                *[
                    ContactPhone(
                        contact=contact_id,
                        raw=p.phone.raw,
                        e164=p.phone.e164,
                        reversed_digits=p.phone.reversed_digits,
                        label=p.label,
                    )
                    for p in clean.phones
                ]
            )


async def tag_ids(names: list[str]) -> dict[str, int]:
    """Ids of the named tags, creating the missing ones (case-insensitive match)."""
    if not names:
        return {}
    existing = {r["name"].casefold(): r["id"] for r in await Tag.select(Tag.id, Tag.name)}
    missing = [n for n in names if n.casefold() not in existing]
    if missing:
        for row in await Tag.insert(*[Tag(name=n) for n in missing]).returning(Tag.id, Tag.name):
            existing[row["name"].casefold()] = row["id"]
    return {n: existing[n.casefold()] for n in names}


async def _replace_tags(contact_id: int, names: list[str]) -> None:
    ids = await tag_ids(names)
    await ContactTag.delete().where(ContactTag.contact == contact_id)
    if ids:
        await ContactTag.insert(*[ContactTag(contact=contact_id, tag=i) for i in ids.values()])


@functools.cache
def _contact_statement() -> Statement:
    """The contact and its company's name in one fixed statement, built once from the
    table's columns: the card reads it on every view, and building it (and the four reads
    that used to follow) with the query builder cost more than running them."""
    columns = ", ".join(f'c."{c._meta.db_column_name}"' for c in Contact._meta.columns)
    return Statement(
        f"SELECT {columns}, co.name AS company_name FROM rapport_contact c"
        " LEFT JOIN rapport_contact co ON co.id = c.company WHERE c.id = {} LIMIT 1"
    )


# Emails by id, phones by id, tag names by name: one statement for the three lists.
_CHANNELS = Statement(
    "SELECT 'e' AS part, id AS n, email AS a, normalized AS b, label AS c"
    " FROM rapport_contact_email WHERE contact = {}"
    " UNION ALL SELECT 'p', id, raw, e164, label FROM rapport_contact_phone WHERE contact = {}"
    " UNION ALL SELECT 't', NULL, t.name, NULL, NULL FROM rapport_contact_tag ct"
    " JOIN rapport_tag t ON t.id = ct.tag WHERE ct.contact = {}"
    " ORDER BY part, n, a"
)


async def get_contact(contact_id: int) -> dict[str, Any]:
    """The contact with its emails, phones, tags and company name; raises ContactNotFound."""
    rows = await _contact_statement().fetch(contact_id)
    if not rows:
        raise ContactNotFound(contact_id)
    row = rows[0]
    custom = row["custom"]
    if isinstance(custom, str):
        custom = json.loads(custom) if custom else None
    row["custom"] = custom or {}
    emails: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    tags: list[str] = []
    for part in await _CHANNELS.fetch(contact_id, contact_id, contact_id):
        if part["part"] == "e":
            emails.append({"email": part["a"], "normalized": part["b"], "label": part["c"]})
        elif part["part"] == "p":
            phones.append({"raw": part["a"], "e164": part["b"], "label": part["c"]})
        else:
            tags.append(part["a"])
    row["emails"], row["phones"], row["tags"] = emails, phones, tags
    row["company_name"] = row.pop("company_name")  # last, where callers have always had it
    return row
