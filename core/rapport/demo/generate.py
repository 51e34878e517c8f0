"""Fill a fresh instance with demo users, companies, people and their activity history.

Goes through the same services as the UI and the API (validation, duplicate checks,
events), so the demo shows what real use produces. Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from rapport.activities.service import complete_task, log_activity
from rapport.contacts.dedupe import DuplicateContact
from rapport.contacts.service import create_contact
from rapport.demo import names
from rapport.users.accounts import create_user
from rapport.users.tables import User

DEMO_EMAIL = "demo@rapport.example"
DEMO_PASSWORD = "demo-rapport"


@dataclass
class DemoSummary:
    users: int
    companies: int
    people: int
    activities: int


def _ru_phone(rng: random.Random) -> str:
    number = f"9{rng.randint(0, 99):02d}{rng.randint(0, 9999999):07d}"
    style = rng.randrange(3)
    if style == 0:
        return f"+7 {number[:3]} {number[3:6]}-{number[6:8]}-{number[8:]}"
    if style == 1:
        return f"8{number}"
    return f"8 ({number[:3]}) {number[3:6]} {number[6:8]} {number[8:]}"


def _uk_phone(rng: random.Random) -> str:
    return f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}"


def _latin(text: str) -> str:
    table = str.maketrans(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "abvgdeezziiklmnoprstufhccss_y_eua",
    )
    return "".join(c for c in text.lower().translate(table) if c.isalnum())


async def _users(rng: random.Random) -> list[int]:
    if await User.exists().where(User.email == DEMO_EMAIL):
        return [r["id"] for r in await User.select(User.id)]
    ids = [(await create_user(DEMO_EMAIL, "Demo Admin", DEMO_PASSWORD, "admin", "en"))["id"]]
    staff = [
        ("m.orlova@rapport.example", "Мария Орлова", "manager", "ru"),
        ("i.petrov@rapport.example", "Иван Петров", "staff", "ru"),
        ("k.green@rapport.example", "Kate Green", "staff", "en"),
        ("a.volkov@rapport.example", "Алексей Волков", "staff", "ru"),
    ]
    for email, name, role, language in staff:
        ids.append((await create_user(email, name, DEMO_PASSWORD, role, language))["id"])
    return ids


async def generate_demo(
    people: int = 300, seed: int = 2026, progress: Callable[[int, int], None] | None = None
) -> DemoSummary:
    rng = random.Random(seed)
    users = await _users(rng)
    companies: list[int] = []
    for i in range(max(people // 6, 1)):
        russian = rng.random() < 0.7
        if russian:
            form, word = rng.choice(names.RU_COMPANY_FORMS), rng.choice(names.RU_COMPANY_WORDS)
            name = f"{form} «{word}-{i + 1}»"
            city, region = rng.choice(names.RU_CITIES)
            country = "RU"
        else:
            name = (
                f"{rng.choice(names.EN_COMPANY_WORDS)} {i + 1} {rng.choice(names.EN_COMPANY_FORMS)}"
            )
            city, region = rng.choice(names.EN_CITIES)
            country = "GB"
        companies.append(
            await create_contact(
                {
                    "kind": "company",
                    "name": name,
                    "city": city,
                    "region": region,
                    "country": country,
                    "source": rng.choice(names.SOURCES),
                    "owner_id": rng.choice(users),
                },
                allow_duplicate=True,
            )
        )
    activities = 0
    created = 0
    now = dt.datetime.now(dt.UTC)
    for i in range(people):
        data, russian = _person(rng, companies, users, i)
        try:
            contact_id = await create_contact(data)
        except DuplicateContact:
            continue
        created += 1
        activities += await _history(rng, contact_id, users, russian, now)
        if progress:
            progress(i + 1, people)
    return DemoSummary(len(users), len(companies), created, activities)


def _person(
    rng: random.Random, companies: list[int], users: list[int], i: int
) -> tuple[dict, bool]:
    russian = rng.random() < 0.7
    if russian:
        female = rng.random() < 0.5
        first = rng.choice(names.RU_FIRST_FEMALE if female else names.RU_FIRST_MALE)
        last = rng.choice(names.RU_LAST) + ("а" if female else "")
        phone = _ru_phone(rng)
        city, region = rng.choice(names.RU_CITIES)
        country, position = "RU", rng.choice(names.POSITIONS_RU)
    else:
        first, last = rng.choice(names.EN_FIRST), rng.choice(names.EN_LAST)
        phone = _uk_phone(rng)
        city, region = rng.choice(names.EN_CITIES)
        country, position = "GB", rng.choice(names.POSITIONS_EN)
    domain = rng.choice(["example.com", "example.org", "example.net"])
    data = {
        "first_name": first,
        "last_name": last,
        "emails": [f"{_latin(first)}.{_latin(last)}{i}@{domain}"],
        "phones": [phone],
        "city": city,
        "region": region,
        "country": country,
        "source": rng.choice(names.SOURCES),
        "owner_id": rng.choice(users + [None]),
        "tags": rng.sample(names.TAGS, rng.randint(0, 2)),
    }
    if rng.random() < 0.6:
        data["company_id"] = rng.choice(companies)
        data["position"] = position
    return data, russian


async def _history(
    rng: random.Random, contact_id: int, users: list[int], russian: bool, now: dt.datetime
) -> int:
    count = rng.randint(1, 8)
    for _ in range(count):
        when = now - dt.timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 1440))
        kind = rng.choice(["note", "call", "call", "email", "meeting"])
        payload = (
            {"duration": rng.randint(30, 900), "direction": rng.choice(["in", "out"])}
            if kind == "call"
            else {}
        )
        await log_activity(
            contact_id,
            kind,
            body=rng.choice(names.NOTES),
            payload=payload,
            author_id=rng.choice(users),
            occurred_at=when,
        )
    if rng.random() < 0.4:
        due = now + dt.timedelta(days=rng.randint(-5, 10), hours=rng.randint(0, 8))
        task = await log_activity(
            contact_id,
            "task",
            body=rng.choice(names.TASKS),
            author_id=rng.choice(users),
            due_at=due,
            assignee_id=rng.choice(users),
        )
        if due < now and rng.random() < 0.5:
            await complete_task(task)
        count += 1
    return count
