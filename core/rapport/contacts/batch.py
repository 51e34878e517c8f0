"""Whole contacts for a list of ids in a fixed number of queries (API list pages)."""

from __future__ import annotations

from typing import Any

from rapport.contacts.tables import Contact, ContactEmail, ContactPhone, ContactTag


async def contacts_by_id(ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each contact as :func:`rapport.contacts.service.get_contact` returns it, keyed by id.

    Four queries whatever the number of ids: the contacts (with their company's name), their
    emails, their phones and their tags. Missing ids are left out.
    """
    if not ids:
        return {}
    rows = (
        await Contact.select(*Contact.all_columns(), Contact.company.name.as_alias("company_name"))
        .where(Contact.id.is_in(ids))
        .output(load_json=True)
    )
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        row["custom"] = row["custom"] or {}
        row.update(emails=[], phones=[], tags=[])
        found[row["id"]] = row
    wanted = list(found)
    if not wanted:
        return found
    for email in (
        await ContactEmail.select(
            ContactEmail.contact, ContactEmail.email, ContactEmail.normalized, ContactEmail.label
        )
        .where(ContactEmail.contact.is_in(wanted))
        .order_by(ContactEmail.id)
    ):
        found[email.pop("contact")]["emails"].append(email)
    for phone in (
        await ContactPhone.select(
            ContactPhone.contact, ContactPhone.raw, ContactPhone.e164, ContactPhone.label
        )
        .where(ContactPhone.contact.is_in(wanted))
        .order_by(ContactPhone.id)
    ):
        found[phone.pop("contact")]["phones"].append(phone)
    for tag in (
        await ContactTag.select(ContactTag.contact, ContactTag.tag.name.as_alias("tag_name"))
        .where(ContactTag.contact.is_in(wanted))
        .order_by(ContactTag.tag.name)
    ):
        found[tag["contact"]]["tags"].append(tag["tag_name"])
    return found
