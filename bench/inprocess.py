"""Scenarios 1-4 and 6: Rapport through its ASGI app in this process, and the raw baseline.

The app runs in this event loop (the app's own lifespan, called as an ASGI app by
:class:`bench.asgi_caller.AsgiCaller`), so a measured request is the app's work and nothing
else: no thread hop of a test client, no socket, no HTTP client's own models. Every answer is
checked (status and content), so a broken page cannot pass for a fast one. An
``httpx.AsyncClient`` over ``httpx.ASGITransport`` is kept beside it for one row, to show
what such a client adds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
import types
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.asgi_caller import AsgiCaller
from bench.baseline import Baseline
from bench.results import Row
from bench.samples import Picks
from bench.timing import Sample, measure

CARD_P95_MS = 15.0
MAX_RATIO = 3.0


@dataclass
class Repeats:
    pages: int
    writes: int
    events: int
    outbox: int
    warmup: int
    memory: int


FULL = Repeats(pages=120, writes=60, events=1000, outbox=20_000, warmup=10, memory=3)
QUICK = Repeats(pages=3, writes=2, events=5, outbox=200, warmup=1, memory=1)


class Session:
    """The signed-in app client, the baseline, and what to ask for."""

    def __init__(self, data: Path, manifest: dict[str, Any], picks: Picks, repeats: Repeats):
        self.data = data
        self.manifest = manifest
        self.picks = picks
        self.repeats = repeats
        self.stack = AsyncExitStack()
        self.client: AsgiCaller
        self.http: httpx.AsyncClient
        self.token = ""
        self.csrf = ""
        self.baseline: Baseline
        self.runtime: Any = None
        # What a plugin's scenarios need of the harness, handed over rather than imported
        # (a plugin package imports only rapport.api): the table's row type and the
        # real-server machinery.
        from bench import serve

        self.Row = Row
        self.serve = serve

    async def __aenter__(self) -> Session:
        from rapport.runtime import current
        from rapport.settings import load_settings
        from rapport.testing import sign_in
        from rapport.web import rendering
        from rapport.web.app import create_app

        settings = load_settings(self.data)
        app = create_app(settings)
        await self.stack.enter_async_context(app.lifespan())
        self.runtime = current()
        self.client = AsgiCaller(app)
        admin = self.manifest["admin"]
        self.csrf = await sign_in(self.client, admin["email"], admin["password"])
        self.token = self.client.cookies["rapport_session"]
        self.http = await self.stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
        )
        for name, value in self.client.cookies.items():
            self.http.cookies.set(name, value)
        # The layout's non-database part (plugin menu items, languages), once, for the baseline.
        captured: dict[str, Any] = {}
        original = rendering.layout_context

        async def capture(request: Any) -> dict[str, Any]:
            captured.update(await original(request))
            return captured

        rendering.layout_context = capture  # type: ignore[assignment]
        try:
            await self.get(f"/contacts/{self.picks.companies[0]}")
        finally:
            rendering.layout_context = original  # type: ignore[assignment]
        layout = {k: v for k, v in captured.items() if k not in ("user", "path", "is_htmx")}
        database = Path(settings.database_url.removeprefix("sqlite:///"))
        self.baseline = Baseline(database, layout, settings.phone_region)
        self.baseline.csrf = self.csrf
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stack.aclose()

    async def get(self, path: str, expect: str | None = None, **kwargs: Any) -> Any:
        response = await self.client.get(path, **kwargs)
        if response.status_code != 200 or (expect is not None and expect not in response.text):
            raise AssertionError(
                f"GET {path}: {response.status_code}, expected {expect!r}: {response.text[:300]}"
            )
        return response

    def measure(self, func: Any, repeat: int | None = None) -> Any:
        r = self.repeats
        return measure(func, repeat or r.pages, warmup=r.warmup, memory_repeat=r.memory)


def _cycle(items: list[Any]) -> Any:
    pool = list(items)
    return lambda i: pool[i % len(pool)]


def _page_row(
    scenario: str, variant: str, rapport: Sample, baseline: Sample, note: str = ""
) -> Row:
    met = rapport.p95 * 1000 <= CARD_P95_MS and rapport.p95 <= MAX_RATIO * baseline.p95
    return Row(
        scenario,
        variant,
        rapport,
        baseline,
        "ms",
        target=f"p95 ≤ {CARD_P95_MS:.0f} ms and ≤ {MAX_RATIO:.0f}× baseline",
        met=met,
        note=note,
    )


# --- 1. the card -----------------------------------------------------------------------------


async def card(s: Session) -> list[Row]:
    rows = []
    names = {}
    db = s.baseline.db
    for contact_id in s.picks.busy_people + s.picks.companies:
        names[contact_id] = db.execute(
            "SELECT name FROM rapport_contact WHERE id = ?", (contact_id,)
        ).fetchone()["name"]
    for variant, ids in (
        ("person, 30 newest of ≥ 31 activities", s.picks.busy_people),
        ("company, with its people", s.picks.companies),
    ):
        if not ids:
            rows.append(Row("1. card page", variant, note="no such contact in this data set"))
            continue
        rows.append(await _card_variant(s, variant, ids, names))
    return rows


async def _card_variant(s: Session, variant: str, ids: list[int], names: dict[int, str]) -> Row:
    from markupsafe import escape

    which = _cycle(ids)
    sizes: list[int] = []
    base_sizes: list[int] = []

    async def rapport(i: int) -> None:
        contact_id = which(i)
        response = await s.get(f"/contacts/{contact_id}", str(escape(names[contact_id])))
        sizes.append(len(response.content))

    def baseline(i: int) -> None:
        contact_id = which(i)
        html = s.baseline.card(s.token, contact_id)
        assert str(escape(names[contact_id])) in html
        base_sizes.append(len(html.encode()))

    r, b = await s.measure(rapport), await s.measure(baseline)
    note = f"page {sum(sizes) // len(sizes):,} B, baseline {sum(base_sizes) // len(base_sizes):,} B"
    return _page_row("1. card page", variant, r, b, note)


# --- 2. the list ------------------------------------------------------------------------------


async def contact_list(s: Session) -> list[Row]:
    from types import SimpleNamespace

    from rapport.contacts.listing import encode_cursor

    first_r = await s.measure(lambda i: s.get("/contacts", "Contacts"))
    first_b = await s.measure(lambda i: s.baseline.contact_list(s.token))
    rows = [_page_row("2. contact list", "page 1", first_r, first_b)]
    if s.picks.deep_cursor is None:
        rows.append(Row("2. contact list", "deep page", note="one page only at this size"))
        return rows
    name, last_id = s.picks.deep_cursor
    cursor = encode_cursor("name", SimpleNamespace(name=name, id=last_id))  # type: ignore[arg-type]
    deep_r = await s.measure(lambda i: s.get("/contacts", params={"after": cursor}))
    deep_b = await s.measure(lambda i: s.baseline.contact_list(s.token, cursor))
    row = _page_row(
        "2. contact list", f"page {s.picks.deep_page:,} (keyset cursor)", deep_r, deep_b
    )
    deep_ok = deep_r.p95 <= 1.5 * first_r.p95
    row.met = bool(row.met and deep_ok)
    row.target += "; ≤ 1.5× page 1"
    row.note = f"{deep_r.p95 / first_r.p95:.2f}× page 1 (p95)"
    rows.append(row)
    return rows


# --- 3. search --------------------------------------------------------------------------------


async def search(s: Session) -> list[Row]:
    rows = []
    kinds = [
        ("name prefix (4 letters of a surname)", s.picks.name_prefixes),
        ("email (whole address)", s.picks.emails),
        ("phone in another format", s.picks.phones_other_format),
        ("phone, last 6 digits", s.picks.last_six),
    ]
    for variant, terms in kinds:
        if not terms:
            rows.append(Row("3. search", variant, note="no sample in this data set"))
            continue
        rows.append(await _search_variant(s, variant, terms))
    # The floor under every page: the app answering its smallest route (public, JSON, no
    # query of its own), against which a sub-millisecond baseline search is compared.
    floor = await s.measure(lambda i: s.get("/healthz", '"status"'))

    async def through_httpx(i: int) -> None:
        response = await s.http.get("/healthz")
        if response.status_code != 200 or '"status"' not in response.text:
            raise AssertionError(f"GET /healthz through httpx: {response.status_code}")

    client = await s.measure(through_httpx)
    rows.append(
        Row(
            "3. search",
            "for scale: GET /healthz through the same app",
            floor,
            None,
            "ms",
            note="the middleware stack and framework alone, no page",
        )
    )
    rows.append(
        Row(
            "3. search",
            "for scale: GET /healthz through httpx.ASGITransport",
            client,
            None,
            "ms",
            note=f"the HTTP client's own cost, which the rows above leave out:"
            f" {(client.p50 - floor.p50) * 1000:.2f} ms p50 per request",
        )
    )
    return rows


async def _search_variant(s: Session, variant: str, terms: list[str]) -> Row:
    term = _cycle(terms)
    found: list[int] = []

    async def rapport(i: int) -> None:
        response = await s.get("/search", params={"q": term(i)}, headers={"hx-request": "true"})
        found.append(response.text.count('class="search-hit"'))

    def baseline(i: int) -> None:
        html = s.baseline.search(s.token, term(i))
        assert "search-hits" in html

    r, b = await s.measure(rapport), await s.measure(baseline)
    hit_rate = sum(1 for n in found if n) / len(found)
    row = _page_row("3. search", variant, r, b, f"{hit_rate:.0%} of queries found something")
    if hit_rate < 1:
        row.met = False
        row.note += " (a search that misses its own sample is a bug)"
    return row


# --- 4. creating a contact --------------------------------------------------------------------


async def create(s: Session) -> list[Row]:
    run = uuid.uuid4().hex[:8]
    counter = itertools.count()

    # Numbers in ranges the generator never uses (UK 7000-7099, German 150), so the
    # duplicate check runs and finds nothing, as for a genuinely new client.
    tag = int(run[:2], 16) % 100

    def form(prefix: str, phone: str) -> dict[str, str]:
        n = next(counter)
        return {
            "kind": "person",
            "first_name": "Бенч",
            "last_name": f"Тестов-{prefix}{n}",
            "email-0": f"bench.{prefix}.{run}.{n}@example.org",
            "email-0-label": "work",
            "phone-0": phone,
            "phone-0-label": "mobile",
        }

    async def rapport(i: int) -> None:
        data = {**form("r", f"+44 70{tag:02d} {i:06d}"), "_csrf_token": s.csrf}
        response = await s.client.post("/contacts/new", data=data, follow_redirects=False)
        if response.status_code != 303:
            raise AssertionError(f"create: {response.status_code} {response.text[:400]}")

    def baseline(i: int) -> None:
        s.baseline.create(s.token, form("b", f"+49 150 {tag:02d}{i:06d}"))

    repeat = s.repeats.writes
    r = await measure(rapport, repeat, warmup=s.repeats.warmup, memory_repeat=s.repeats.memory)
    b = await measure(baseline, repeat, warmup=s.repeats.warmup, memory_repeat=s.repeats.memory)
    return [
        Row(
            "4. create a contact",
            "form post with duplicate check",
            r,
            b,
            "ms",
            target="(no target in the issue)",
            note="Rapport: POST /contacts/new → 303; baseline: same checks and rows",
        )
    ]


# --- 6. events --------------------------------------------------------------------------------


def _handler_module(index: int, seen: list[int]) -> types.ModuleType:
    from rapport.hookspecs import hookimpl

    module = types.ModuleType(f"bench_handler_{index}")

    @hookimpl
    def handle_event(event: Any, meta: Any) -> None:
        seen.append(meta.id)

    module.handle_event = handle_event  # type: ignore[attr-defined]
    return module


async def events(s: Session) -> list[Row]:
    from rapport.db.transaction import transaction
    from rapport.events.bus import dispatch, publish
    from rapport.events.core_events import ContactUpdated

    pm = s.runtime.plugins.pm
    contact_id = s.picks.busy_people[0] if s.picks.busy_people else 1
    event = ContactUpdated(contact_id=contact_id, changes={"city": ["Москва", "Казань"]})

    async def publish_once(i: int) -> None:
        async with transaction():
            await publish(event, actor_id=1)

    n = s.repeats.events
    seen: list[int] = []
    modules = [_handler_module(index, seen) for index in range(5)]
    names = [f"bench.handler.{index}" for index in range(5)]
    # Blocks with and without the handlers alternate, so drift in the machine's load falls on
    # both sides of the difference alike.
    plain, handled = Sample(), Sample()
    block = max(1, min(50, n))
    try:
        for _ in range(max(1, n // block)):
            part = await measure(publish_once, block, warmup=1, memory_repeat=0)
            plain.seconds.extend(part.seconds)
            for module, name in zip(modules, names, strict=True):
                pm.register(module, name=name)
            part = await measure(publish_once, block, warmup=1, memory_repeat=0)
            handled.seconds.extend(part.seconds)
            for name in names:
                pm.unregister(name=name)
        assert len(seen) >= 5 * len(handled.seconds), "the handlers did not see every event"
        for module, name in zip(modules, names, strict=True):
            pm.register(module, name=name)
        handled.peak_bytes = (
            await measure(publish_once, 1, warmup=0, memory_repeat=s.repeats.memory)
        ).peak_bytes
        meta = await _one_meta(event)
        alone = await measure(
            lambda i: dispatch([(event, meta)]),
            n,
            warmup=s.repeats.warmup,
            memory_repeat=s.repeats.memory,
        )
    finally:
        for name in names:
            if pm.has_plugin(name):
                pm.unregister(name=name)

    # The raw baseline: the same outbox row in its own write transaction, then 5 calls.
    db = s.baseline.db
    payload = json.dumps(event.to_payload())
    calls: list[int] = []
    handlers = [calls.append for _ in range(5)]

    def raw_publish(i: int) -> None:
        db.execute("BEGIN IMMEDIATE")
        new_id = db.execute(
            "INSERT INTO rapport_outbox (type, version, key, payload, actor, created_at)"
            " VALUES (?, 1, ?, ?, 1, ?) RETURNING id",
            (event.type, event.key(), payload, str(dt.datetime.now(dt.UTC))),
        ).fetchone()["id"]
        db.execute("COMMIT")
        for handler in handlers:
            handler(new_id)

    base = await measure(raw_publish, n, warmup=s.repeats.warmup, memory_repeat=s.repeats.memory)
    beyond = handled.p50 - plain.p50
    # What publish() does besides the SQL: the payload, its JSON and the key.
    python_part = await measure(
        lambda i: (json.dumps(event.to_payload()), event.key()), n, warmup=1, memory_repeat=0
    )
    direct = alone.p50 + python_part.p50
    return [
        Row(
            "6. events",
            "publish in a write transaction, no extra handlers",
            plain,
            base,
            "µs",
            note="the database write itself (outbox insert, commit)",
        ),
        Row(
            "6. events",
            "publish + dispatch to 5 handlers",
            handled,
            base,
            "µs",
            target="≤ 50 µs beyond the write (p50)",
            met=direct <= 50e-6,
            note=f"beyond the write: {direct * 1e6:.0f} µs measured directly (dispatch"
            f" {alone.p50 * 1e6:.0f} µs + payload and key {python_part.p50 * 1e6:.0f} µs);"
            f" p50 with handlers minus without: {beyond * 1e6:.0f} µs (noisy on a busy machine)",
        ),
        Row(
            "6. events",
            "dispatch to 5 handlers alone (after commit)",
            alone,
            None,
            "µs",
            target="(part of the row above)",
        ),
        *await outbox(s),
    ]


async def _one_meta(event: Any) -> Any:
    from rapport.db.transaction import transaction
    from rapport.events.bus import publish

    async with transaction():
        return await publish(event, actor_id=1)


async def outbox(s: Session) -> list[Row]:
    """Delivery to one asynchronous consumer that takes every event and does nothing else."""
    from rapport.events.consumers import Consumer
    from rapport.events.delivery import Delivery, deliver_all
    from rapport.hookspecs import hookimpl

    taken: list[int] = []

    async def handle(event: Any, meta: Any) -> None:
        taken.append(meta.id)

    module = types.ModuleType("bench_outbox_sink")
    module.register_event_consumers = hookimpl(  # type: ignore[attr-defined]
        lambda: [Consumer("bench.sink", handle)]
    )
    pm = s.runtime.plugins.pm
    pm.register(module, name="bench.sink")
    registry = s.runtime.plugins
    delivery = Delivery()
    # A fresh cursor per run: an earlier run's row would still hold its (expired) lease.
    s.baseline.db.execute("DELETE FROM rapport_consumer_cursor WHERE consumer = 'bench.sink'")
    try:
        await deliver_all(registry, delivery)  # the cursor starts; earlier events drain
        db = s.baseline.db
        count = s.repeats.outbox
        db.execute("BEGIN IMMEDIATE")
        top = db.execute("SELECT coalesce(max(id), 0) AS top FROM rapport_outbox").fetchone()["top"]
        now = "2026-12-01 12:00:00.000000+00:00"
        db.executemany(
            "INSERT INTO rapport_outbox (type, version, key, payload, actor, created_at)"
            " VALUES ('contact.updated', 1, ?, ?, 1, ?)",
            [
                (f"contact:{i % 5000}", json.dumps({"contact_id": i % 5000, "changes": {}}), now)
                for i in range(count)
            ],
        )
        db.execute("COMMIT")
        taken.clear()
        started = time.perf_counter()
        await deliver_all(registry, delivery)
        elapsed = time.perf_counter() - started
        mine = [i for i in taken if i > top]
        assert len(mine) == count, f"delivered {len(mine)} of {count}"
    finally:
        await delivery.release_leases()
        pm.unregister(name="bench.sink")
    rate = count / elapsed

    # Baseline: read batches of 200 by id, call the handler, move a cursor row, commit.
    db = s.baseline.db
    db.execute("CREATE TEMP TABLE IF NOT EXISTS bench_cursor (position INTEGER)")
    db.execute("DELETE FROM bench_cursor")
    db.execute("INSERT INTO bench_cursor VALUES (?)", (top,))
    seen = 0
    started = time.perf_counter()
    while True:
        position = db.execute("SELECT position FROM bench_cursor").fetchone()["position"]
        batch = db.execute(
            "SELECT id, type, version, key, payload, actor, created_at FROM rapport_outbox"
            " WHERE id > ? ORDER BY id LIMIT 200",
            (position,),
        ).fetchall()
        if not batch:
            break
        for row in batch:
            json.loads(row["payload"])
            seen += 1
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE bench_cursor SET position = ?", (batch[-1]["id"],))
        db.execute("COMMIT")
    base_rate = seen / (time.perf_counter() - started)
    return [
        Row(
            "6. events",
            f"outbox delivery, {count:,} events to one consumer",
            unit="/s",
            rapport_rate=rate,
            baseline_rate=base_rate,
            target="≥ 2,000 events/s",
            met=rate >= 2000,
        )
    ]


SCENARIOS = {
    "card": card,
    "list": contact_list,
    "search": search,
    "create": create,
    "events": events,
}
