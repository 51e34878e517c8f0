"""What the scenarios ask for, picked from the data set itself (seeded, so runs compare)."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from rapport.contacts.listing import PAGE_SIZE

FULL_TIMELINE = 31  # more than one timeline page (30) of activities


@dataclass
class Picks:
    busy_people: list[int] = field(default_factory=list)  # persons with a full timeline
    companies: list[int] = field(default_factory=list)  # companies with people
    name_prefixes: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    phones_other_format: list[str] = field(default_factory=list)
    last_six: list[str] = field(default_factory=list)
    deep_page: int = 0  # the page number reached by the deep cursor
    deep_cursor: tuple[str, int] | None = None  # (name, id) of the last row before that page


def _other_format(e164: str) -> str:
    """The number as people type it at home: ``8 (912) 345-67-89`` for a Russian one,
    the national format otherwise — never the E.164 text that is stored."""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 7:
        national = str(number.national_number)
        return f"8 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def pick(database: Path, want: int = 60, seed: int = 7, page: int = 10_000) -> Picks:
    rng = random.Random(seed)
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    top = db.execute("SELECT max(id) FROM rapport_contact").fetchone()[0] or 0
    picks = Picks()
    tries = 0
    while len(picks.busy_people) < want and tries < 200_000 and top:
        tries += 1
        contact_id = rng.randint(1, top)
        kind, archived = db.execute(
            "SELECT kind, archived FROM rapport_contact WHERE id = ?", (contact_id,)
        ).fetchone() or ("", 1)
        if kind != "person" or archived:
            continue
        count = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM rapport_activity WHERE contact = ? LIMIT ?)",
            (contact_id, FULL_TIMELINE),
        ).fetchone()[0]
        if count >= FULL_TIMELINE:
            picks.busy_people.append(contact_id)
    picks.companies = [
        r[0]
        for r in db.execute(
            "SELECT c.id FROM rapport_contact c WHERE c.kind = 'company' AND c.archived = 0"
            " AND EXISTS (SELECT 1 FROM rapport_contact p WHERE p.company = c.id)"
            " AND c.id % 97 = ? LIMIT ?",
            (seed % 97, want),
        )
    ] or [
        r[0]
        for r in db.execute(
            "SELECT id FROM rapport_contact WHERE kind = 'company' LIMIT ?", (want,)
        )
    ]
    people = [
        r
        for r in (
            db.execute(
                "SELECT c.last_name, e.normalized, p.e164 FROM rapport_contact c"
                " JOIN rapport_contact_email e ON e.contact = c.id"
                " JOIN rapport_contact_phone p ON p.contact = c.id"
                " WHERE c.id = ? AND c.archived = 0 AND c.kind = 'person'",
                (rng.randint(1, top),),
            ).fetchone()
            for _ in range(want * 6)
        )
        if r
    ][:want]
    picks.name_prefixes = [last[:4] for last, _e, _p in people]
    picks.emails = [email for _l, email, _p in people]
    picks.phones_other_format = [_other_format(phone) for _l, _e, phone in people]
    picks.last_six = [phone[-6:] for _l, _e, phone in people]
    active = db.execute("SELECT count(*) FROM rapport_contact WHERE archived = 0").fetchone()[0]
    picks.deep_page = max(1, min(page, (active - 1) // PAGE_SIZE + 1))
    if picks.deep_page > 1:
        row = db.execute(
            "SELECT name, id FROM rapport_contact WHERE archived = 0 ORDER BY name, id"
            " LIMIT 1 OFFSET ?",
            ((picks.deep_page - 1) * PAGE_SIZE - 1,),
        ).fetchone()
        picks.deep_cursor = (row[0], row[1])
    db.close()
    return picks
