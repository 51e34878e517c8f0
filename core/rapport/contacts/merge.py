"""Merging two records of one client: nothing of either is lost.

The winner keeps its own values; the loser's channels, tags and activities move over, its
values fill the winner's empty fields, plugins move their own records through the
``merge_contacts`` hook, and the loser is archived with ``merged_into`` pointing at the
winner. What moved is recorded in ``rapport_contact_merge`` for audit (and a future undo).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rapport.activities.tables import Activity
from rapport.contacts.service import CONTACT_COLUMNS, ContactNotFound, get_contact, tag_ids
from rapport.contacts.tables import Contact, ContactEmail, ContactMerge, ContactPhone, ContactTag
from rapport.db.transaction import transaction
from rapport.events.bus import publish
from rapport.events.core_events import ContactMerged
from rapport.runtime import current

# Every stored field but the kind and the display name (which follows first/last name).
FILLABLE = tuple(sorted(CONTACT_COLUMNS - {"kind", "name"}))


class MergeError(ValueError):
    pass


async def merge_contacts(winner_id: int, loser_id: int, *, actor_id: int | None = None) -> int:
    """Merge ``loser_id`` into ``winner_id``; return the merge record's id."""
    if winner_id == loser_id:
        raise MergeError("a contact cannot be merged into itself")
    async with transaction():
        winner = await get_contact(winner_id)
        loser = await get_contact(loser_id)
        if loser["merged_into"]:
            raise MergeError(f"contact {loser_id} was already merged into {loser['merged_into']}")
        if winner["kind"] != loser["kind"]:
            raise MergeError("a person and a company cannot be merged")
        moved: dict[str, Any] = {
            "emails": await _move_emails(winner, loser),
            "phones": await _move_phones(winner, loser),
            "tags": await _merge_tags(winner, loser),
            "activities": await _move_activities(winner_id, loser_id),
            "people": await _move_people(winner_id, loser_id),
            "fields": await _fill_fields(winner, loser),
        }
        await current().plugins.call("merge_contacts", winner_id=winner_id, loser_id=loser_id)
        now = dt.datetime.now(dt.UTC)
        await Contact.update(
            {Contact.archived: True, Contact.merged_into: winner_id, Contact.updated_at: now}
        ).where(Contact.id == loser_id)
        rows = await ContactMerge.insert(
            ContactMerge(
                winner=winner_id,
                loser=loser_id,
                moved=json.dumps(moved),
                merged_by=actor_id,
                merged_at=now,
            )
        ).returning(ContactMerge.id)
        merge_id = rows[0]["id"]
        from rapport.activities.service import log_activity

        await log_activity(
            winner_id,
            "merge",
            body=f"Merged {loser['name']} (#{loser_id}) into this contact",
            payload={"loser_id": loser_id, "merge_id": merge_id},
            author_id=actor_id,
            subject_type="contact_merge",
            subject_id=str(merge_id),
        )
        await publish(
            ContactMerged(contact_id=winner_id, loser_id=loser_id, merge_id=merge_id), actor_id
        )
    return merge_id


async def _move_emails(winner: dict[str, Any], loser: dict[str, Any]) -> list[str]:
    have = {e["normalized"] for e in winner["emails"]}
    moving = [e["normalized"] for e in loser["emails"] if e["normalized"] not in have]
    if moving:
        await ContactEmail.update({ContactEmail.contact: winner["id"]}).where(
            (ContactEmail.contact == loser["id"]) & ContactEmail.normalized.is_in(moving)
        )
    await ContactEmail.delete().where(ContactEmail.contact == loser["id"])
    return moving


async def _move_phones(winner: dict[str, Any], loser: dict[str, Any]) -> list[str]:
    have = {p["e164"] for p in winner["phones"]}
    moving = [p["e164"] for p in loser["phones"] if p["e164"] not in have]
    if moving:
        await ContactPhone.update({ContactPhone.contact: winner["id"]}).where(
            (ContactPhone.contact == loser["id"]) & ContactPhone.e164.is_in(moving)
        )
    await ContactPhone.delete().where(ContactPhone.contact == loser["id"])
    return moving


async def _merge_tags(winner: dict[str, Any], loser: dict[str, Any]) -> list[str]:
    have = {t.casefold() for t in winner["tags"]}
    adding = [t for t in loser["tags"] if t.casefold() not in have]
    if adding:
        ids = await tag_ids(adding)
        await ContactTag.insert(*[ContactTag(contact=winner["id"], tag=i) for i in ids.values()])
    await ContactTag.delete().where(ContactTag.contact == loser["id"])
    return adding


async def _move_activities(winner_id: int, loser_id: int) -> int:
    rows = (
        await Activity.update({Activity.contact: winner_id})
        .where(Activity.contact == loser_id)
        .returning(Activity.id)
    )
    return len(rows)


async def _move_people(winner_id: int, loser_id: int) -> list[int]:
    """People of a merged-away company now belong to the surviving company."""
    rows = (
        await Contact.update({Contact.company: winner_id})
        .where(Contact.company == loser_id)
        .returning(Contact.id)
    )
    return [r["id"] for r in rows]


async def _fill_fields(winner: dict[str, Any], loser: dict[str, Any]) -> dict[str, Any]:
    filled = {k: loser[k] for k in FILLABLE if not winner[k] and loser[k]}
    custom_filled = {k: v for k, v in loser["custom"].items() if k not in winner["custom"]}
    values: dict[Any, Any] = {getattr(Contact, k): v for k, v in filled.items()}
    if custom_filled:
        values[Contact.custom] = json.dumps({**winner["custom"], **custom_filled})
        filled["custom"] = custom_filled
    if "first_name" in filled or "last_name" in filled:
        first = winner["first_name"] or loser["first_name"]
        last = winner["last_name"] or loser["last_name"]
        values[Contact.name] = " ".join(p for p in (first, last) if p)
    if values:
        await Contact.update(values).where(Contact.id == winner["id"])
    return filled


__all__ = ["ContactNotFound", "MergeError", "merge_contacts"]
