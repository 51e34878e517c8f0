"""Duplicate detection on normalised email and E.164 phone."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.contacts.tables import Contact, ContactEmail, ContactPhone


@dataclass(frozen=True)
class DuplicateMatch:
    contact_id: int
    name: str
    channel: str  # "email" or "phone"
    value: str
    archived: bool = False


class DuplicateContact(Exception):
    """Creating (or changing) a contact would duplicate existing ones; ``matches`` says which."""

    def __init__(self, matches: list[DuplicateMatch]) -> None:
        names = ", ".join(f"{m.name} (#{m.contact_id}, {m.channel} {m.value})" for m in matches)
        super().__init__(f"a contact with the same email or phone exists: {names}")
        self.matches = matches


async def find_duplicates(
    emails: list[str], phones: list[str], exclude_id: int | None = None
) -> list[DuplicateMatch]:
    """Contacts (archived ones included, flagged) sharing a normalised email or E.164 phone."""
    hits: list[tuple[int, str, str]] = []
    if emails:
        for row in await ContactEmail.select(ContactEmail.contact, ContactEmail.normalized).where(
            ContactEmail.normalized.is_in(emails)
        ):
            hits.append((row["contact"], "email", row["normalized"]))
    if phones:
        for row in await ContactPhone.select(ContactPhone.contact, ContactPhone.e164).where(
            ContactPhone.e164.is_in(phones)
        ):
            hits.append((row["contact"], "phone", row["e164"]))
    hits = [h for h in hits if h[0] != exclude_id]
    if not hits:
        return []
    contacts = {
        r["id"]: r
        for r in await Contact.select(Contact.id, Contact.name, Contact.archived).where(
            Contact.id.is_in(sorted({h[0] for h in hits}))
        )
    }
    seen: set[tuple[int, str, str]] = set()
    matches = []
    for contact_id, channel, value in hits:
        if (contact_id, channel, value) in seen or contact_id not in contacts:
            continue
        seen.add((contact_id, channel, value))
        row = contacts[contact_id]
        matches.append(DuplicateMatch(contact_id, row["name"], channel, value, row["archived"]))
    return sorted(matches, key=lambda m: (m.archived, m.contact_id, m.channel))
