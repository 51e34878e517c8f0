"""One chunk of generated contacts, their channels, tags and activities, as insert rows.

Chunks are independent (each has its own seeded ``random.Random``), so a process pool builds
them in parallel and the result is the same whatever the pool size. Phones and emails go
through the core's own normalisers, exactly as a contact typed into the form would.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from rapport.contacts.emails import EmailError, normalise_email
from rapport.contacts.phones import PhoneError, normalise_phone

from bench import pools

REGION = "RU"  # the instance's default region, as in rapport.toml of the data directory
COMPANY_EVERY = 10  # contact ids 1, 11, 21, ... are companies
EPOCH = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
_EPOCH_SECONDS = EPOCH.timestamp()
HISTORY_DAYS = 3 * 365
ACTIVITY_KINDS = ["note", "call", "call", "email", "email", "meeting"]
TASK_SHARE = 0.08

_TRANSLIT = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
}


@dataclass(frozen=True)
class ChunkSpec:
    seed: int
    index: int
    first_id: int
    count: int
    total_contacts: int
    activities: int  # activities to spread over this chunk's contacts
    user_ids: tuple[int, ...]
    tag_ids: tuple[int, ...]


@dataclass
class Chunk:
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    emails: list[tuple[Any, ...]] = field(default_factory=list)
    phones: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[int, int]] = field(default_factory=list)
    activities: list[tuple[Any, ...]] = field(default_factory=list)
    rejected_phones: int = 0


def is_company(contact_id: int) -> bool:
    return contact_id % COMPANY_EVERY == 1


@functools.lru_cache(maxsize=4096)
def latin(text: str) -> str:
    out = "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())
    return "".join(ch for ch in out if ch.isascii() and ch.isalnum())


def stamp(seconds_ago: float) -> str:
    """A UTC moment as Piccolo stores a ``Timestamptz`` on SQLite (``str()`` of an aware
    datetime), built without datetime arithmetic: millions of these are needed."""
    moment = _EPOCH_SECONDS - seconds_ago
    whole = math.floor(moment)
    micro = min(int((moment - whole) * 1_000_000), 999_999)
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(whole))}.{micro:06d}+00:00"


# --- phones -------------------------------------------------------------------------------


def _ru_mobile(rng: random.Random) -> str:
    n = f"9{rng.randint(0, 99):02d}{rng.randint(0, 9_999_999):07d}"
    style = rng.randrange(6)
    if style == 0:
        return f"+7 {n[:3]} {n[3:6]}-{n[6:8]}-{n[8:]}"
    if style == 1:
        return f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"
    if style == 2:
        return f"8{n}"
    if style == 3:
        return f"+7{n}"
    if style == 4:
        return f"8-{n[:3]}-{n[3:6]}-{n[6:8]}-{n[8:]}"
    return f"{n[:3]} {n[3:6]} {n[6:8]} {n[8:]}"


def _ru_landline(rng: random.Random) -> str:
    code = rng.choice(["495", "499", "812", "843", "343", "383", "831", "846"])
    n = f"{rng.randint(0, 9_999_999):07d}"
    if rng.random() < 0.5:
        return f"+7 ({code}) {n[:3]}-{n[3:5]}-{n[5:]}"
    return f"8 {code} {n[:3]} {n[3:5]} {n[5:]}"


def _foreign(rng: random.Random) -> str:
    country = rng.randrange(6)
    if country == 0:  # United Kingdom
        n = f"7{rng.randint(100, 999)}{rng.randint(0, 999_999):06d}"
        return rng.choice([f"+44 {n[:4]} {n[4:]}", f"0044 {n[:4]} {n[4:]}", f"+44{n}"])
    if country == 1:  # Germany
        n = f"15{rng.randint(1, 9)}{rng.randint(0, 99_999_999):08d}"
        return rng.choice([f"+49 {n[:3]} {n[3:]}", f"+49 ({n[:3]}) {n[3:7]} {n[7:]}"])
    if country == 2:  # United States
        n = f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        return rng.choice([f"+1 ({n[:3]}) {n[3:6]}-{n[6:]}", f"+1 {n[:3]} {n[3:6]} {n[6:]}"])
    if country == 3:  # Kazakhstan, which shares +7
        n = f"70{rng.randint(0, 8)}{rng.randint(0, 9_999_999):07d}"
        return rng.choice([f"+7 {n[:3]} {n[3:6]} {n[6:]}", f"8 ({n[:3]}) {n[3:6]}-{n[6:]}"])
    if country == 4:  # Belarus
        n = f"{rng.choice(['29', '33', '44'])}{rng.randint(0, 9_999_999):07d}"
        return rng.choice([f"+375 {n[:2]} {n[2:5]}-{n[5:7]}-{n[7:]}", f"00375{n}"])
    n = f"{rng.choice(['67', '50', '93'])}{rng.randint(0, 9_999_999):07d}"  # Ukraine
    return f"+380 {n[:2]} {n[2:5]} {n[5:]}"


def _phones(rng: random.Random, company: bool) -> list[tuple[str, str]]:
    if company:
        return [(_ru_landline(rng), "work")]
    roll = rng.random()
    wanted = 0 if roll < 0.1 else 1 if roll < 0.8 else 2
    found = []
    for i in range(wanted):
        raw = _ru_mobile(rng) if rng.random() < 0.75 else _foreign(rng)
        found.append((raw, "mobile" if i == 0 else rng.choice(["work", "home"])))
    return found


# --- people and companies -----------------------------------------------------------------


def _person_name(rng: random.Random) -> tuple[str, str, bool]:
    russian = rng.random() < 0.7

    # expovariate picks skew the pools: the first names of a list are the common ones.
    def pick(pool: list[str]) -> str:
        return pool[min(int(rng.expovariate(6 / len(pool))), len(pool) - 1)]

    if russian:
        female = rng.random() < 0.5
        first = pick(pools.RU_FIRST_FEMALE if female else pools.RU_FIRST_MALE)
        last = pick(pools.RU_LAST)
        if female and last[-2:] in ("ов", "ев", "ин"):
            last += "а"
        elif female and last.endswith("ский"):
            last = last[:-2] + "ая"
        return first, last, True
    return pick(pools.EN_FIRST), pick(pools.EN_LAST), False


def _email(rng: random.Random, first: str, last: str, contact_id: int, russian: bool) -> str:
    domains = pools.EMAIL_DOMAINS_RU if russian else pools.EMAIL_DOMAINS_EN
    if not last:  # a company's address
        local = rng.choice(["info", "sales", "office", "zakaz"])
    else:
        local = rng.choice(
            [f"{latin(first)}.{latin(last)}", f"{latin(first)[:1]}{latin(last)}", latin(last)]
        )
    text = f"{local}{contact_id}@{rng.choice(domains)}"
    return text.capitalize() if rng.random() < 0.1 else text


def build_chunk(spec: ChunkSpec) -> Chunk:
    """Rows for contacts ``first_id`` .. ``first_id + count - 1``."""
    rng = random.Random(spec.seed * 1_000_003 + spec.index)
    chunk = Chunk()
    companies = max(spec.total_contacts // COMPANY_EVERY, 1)
    weights: list[float] = []
    for contact_id in range(spec.first_id, spec.first_id + spec.count):
        company = is_company(contact_id)
        _contact(rng, chunk, spec, contact_id, company, companies)
        # Activity is skewed: most contacts have a few, some have hundreds (log-normal).
        weights.append(rng.lognormvariate(0, 1.3) * (3 if company else 1))
    _activities(rng, chunk, spec, weights)
    return chunk


def _contact(
    rng: random.Random,
    chunk: Chunk,
    spec: ChunkSpec,
    contact_id: int,
    company: bool,
    companies: int,
) -> None:
    owner = rng.choice(spec.user_ids) if rng.random() < 0.9 else None
    created = rng.uniform(0, HISTORY_DAYS * 86400)
    updated = rng.uniform(0, created)
    russian = rng.random() < 0.75
    email_name: tuple[str, str]
    if company:
        if russian:
            name = (
                f"{rng.choice(pools.RU_COMPANY_FORMS)} «{rng.choice(pools.RU_COMPANY_WORDS)}"
                f"-{contact_id // COMPANY_EVERY + 1}»"
            )
            city, region = rng.choice(pools.RU_CITIES)
        else:
            name = (
                f"{rng.choice(pools.EN_COMPANY_WORDS)} {contact_id // COMPANY_EVERY + 1}"
                f" {rng.choice(pools.EN_COMPANY_FORMS)}"
            )
            city, region = rng.choice(pools.EN_CITIES)
        first = last = position = ""
        company_id = None
        country = "RU" if russian else "GB"
        email_name = ("info", "")
    else:
        first, last, russian = _person_name(rng)
        name = f"{first} {last}"
        city, region = rng.choice(pools.RU_CITIES if russian else pools.EN_CITIES)
        country = "RU" if russian else "GB"
        company_id = None
        position = ""
        if rng.random() < 0.6:
            company_id = rng.randrange(companies) * COMPANY_EVERY + 1
            if company_id > spec.total_contacts:
                company_id = 1
            position = rng.choice(pools.POSITIONS_RU if russian else pools.POSITIONS_EN)
        email_name = (first, last)
    chunk.contacts.append(
        (
            contact_id,
            "company" if company else "person",
            name,
            first,
            last,
            company_id,
            position,
            "",
            city,
            region,
            "",
            country,
            rng.choice(pools.SOURCES),
            owner,
            "{}",
            rng.random() < 0.03,
            None,
            stamp(created),
            stamp(updated),
        )
    )
    roll = rng.random()
    emails = 0 if roll < 0.1 else 1 if roll < 0.85 else 2
    for i in range(emails):
        raw = _email(rng, *email_name, contact_id * 2 + i, russian)
        try:
            chunk.emails.append(
                (contact_id, raw, normalise_email(raw), "work" if i == 0 else "personal")
            )
        except EmailError:
            pass
    for raw, label in _phones(rng, company):
        try:
            phone = normalise_phone(raw, REGION)
        except PhoneError:
            chunk.rejected_phones += 1
            continue
        chunk.phones.append((contact_id, phone.raw, phone.e164, phone.reversed_digits, label))
    for tag in rng.sample(spec.tag_ids, min(len(spec.tag_ids), int(rng.expovariate(1.2)))):
        chunk.tags.append((contact_id, tag))


def _activities(rng: random.Random, chunk: Chunk, spec: ChunkSpec, weights: list[float]) -> None:
    """Spread exactly ``spec.activities`` over the chunk's contacts by their weights."""
    total = sum(weights) or 1.0
    counts = [math.floor(w / total * spec.activities) for w in weights]
    for i in range(spec.activities - sum(counts)):
        counts[i % len(counts)] += 1
    append = chunk.activities.append
    for offset, count in enumerate(counts):
        contact_id = spec.first_id + offset
        for _ in range(count):
            ago = rng.random() ** 1.5 * HISTORY_DAYS * 86400  # recent activity is denser
            author = rng.choice(spec.user_ids)
            if rng.random() < TASK_SHARE:
                due = ago - rng.uniform(-10 * 86400, 20 * 86400)
                done = stamp(max(due, 0)) if due > 7 * 86400 or rng.random() < 0.3 else None
                append(
                    (
                        contact_id,
                        "task",
                        stamp(ago),
                        author,
                        "",
                        "",
                        rng.choice(pools.TASKS),
                        "{}",
                        stamp(due),
                        rng.choice(spec.user_ids),
                        done,
                        stamp(ago),
                    )
                )
                continue
            kind = rng.choice(ACTIVITY_KINDS)
            payload = (
                json.dumps(
                    {
                        "duration": rng.randint(20, 1800),
                        "direction": rng.choice(["outgoing", "incoming"]),
                    }
                )
                if kind == "call"
                else "{}"
            )
            append(
                (
                    contact_id,
                    kind,
                    stamp(ago),
                    author,
                    "",
                    "",
                    rng.choice(pools.NOTES),
                    payload,
                    None,
                    None,
                    None,
                    stamp(ago),
                )
            )
