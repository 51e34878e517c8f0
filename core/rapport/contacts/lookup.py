"""Finding a contact by a channel: the one matching engine every entry path uses."""

from __future__ import annotations

from rapport.contacts.emails import try_normalise_email
from rapport.contacts.phones import try_normalise
from rapport.contacts.refs import ContactRef
from rapport.contacts.tables import Contact, ContactEmail, ContactPhone
from rapport.runtime import current


async def _refs(ids: list[int]) -> list[ContactRef]:
    if not ids:
        return []
    rows = await Contact.select(
        Contact.id, Contact.name, Contact.kind, Contact.owner, Contact.archived, Contact.merged_into
    ).where(Contact.id.is_in(ids))
    by_id = {r["id"]: r for r in rows}
    refs = []
    for contact_id in ids:
        row = by_id.get(contact_id)
        if row is not None:
            refs.append(
                ContactRef(row["id"], row["name"], row["kind"], row["owner"], row["archived"])
            )
    return refs


def _prefer_active(refs: list[ContactRef]) -> ContactRef | None:
    """An active contact wins over an archived one; among equals, the oldest."""
    if not refs:
        return None
    return sorted(refs, key=lambda r: (r.archived, r.id))[0]


async def contacts_by_phone(phone: str) -> list[ContactRef]:
    e164 = try_normalise(phone, current().settings.phone_region)
    if e164 is None:
        return []
    rows = await ContactPhone.select(ContactPhone.contact).where(ContactPhone.e164 == e164)
    return await _refs(sorted({r["contact"] for r in rows}))


async def contacts_by_email(email: str) -> list[ContactRef]:
    normalised = try_normalise_email(email)
    if normalised is None:
        return []
    rows = await ContactEmail.select(ContactEmail.contact).where(
        ContactEmail.normalized == normalised
    )
    return await _refs(sorted({r["contact"] for r in rows}))


async def contact_by_phone(phone: str) -> ContactRef | None:
    return _prefer_active(await contacts_by_phone(phone))


async def contact_by_email(email: str) -> ContactRef | None:
    return _prefer_active(await contacts_by_email(email))


async def match_contact(email: str | None = None, phone: str | None = None) -> ContactRef | None:
    """The contact an incoming email and/or phone belongs to (email first), or None.

    Web forms, calls, imports and the API all match through here, so one person never
    becomes two records because two entry paths compared differently.
    """
    if email:
        found = await contact_by_email(email)
        if found is not None:
            return found
    if phone:
        return await contact_by_phone(phone)
    return None
