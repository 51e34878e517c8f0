"""Build a benchmark data directory: the real schema, then a bulk load.

1. The schema comes from the real migrations (core and every installed plugin), run through
   ``rapport.bootstrap`` as ``rapport migrate`` would; users are created by the core too.
2. The load bypasses the services on purpose: rows are built in a process pool (names, the
   core's own phone and email normalisers) and inserted with plain ``sqlite3``
   ``executemany`` in large transactions, with the search triggers and the secondary indexes
   of the loaded tables dropped first. Both are recreated afterwards from the very SQL the
   migrations stored in ``sqlite_master``, and the search index is rebuilt once with the
   core's ``reindex_all()``.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import extensions
from bench.people import ChunkSpec, build_chunk, is_company

ADMIN_EMAIL = "bench-admin@rapport.example"
PASSWORD = "bench-password"  # a throw-away data set on the local machine
USERS = 50
CHUNK = 10_000
MANIFEST = "bench.json"
LOADED_TABLES = (
    "rapport_contact",
    "rapport_contact_email",
    "rapport_contact_phone",
    "rapport_contact_tag",
    "rapport_activity",
)
INSERTS = {
    "contacts": "INSERT INTO rapport_contact (id, kind, name, first_name, last_name, company,"
    " position, street, city, region, postcode, country, source, owner, custom, archived,"
    " merged_into, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "emails": "INSERT INTO rapport_contact_email (contact, email, normalized, label)"
    " VALUES (?,?,?,?)",
    "phones": "INSERT INTO rapport_contact_phone (contact, raw, e164, reversed_digits, label)"
    " VALUES (?,?,?,?,?)",
    "tags": "INSERT INTO rapport_contact_tag (contact, tag) VALUES (?,?)",
    "activities": "INSERT INTO rapport_activity (contact, kind, occurred_at, author,"
    " subject_type, subject_id, body, payload, due_at, assignee, done_at, created_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
}


@dataclass
class Plan:
    out: Path
    contacts: int
    activities: int
    seed: int = 2026
    workers: int = max(os.cpu_count() or 1, 1)
    deals: int = 100_000
    submissions: int = 10_000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def database_path(out: Path) -> Path:
    return out / "rapport.sqlite3"


# --- schema and users, the core's way -------------------------------------------------------


async def _prepare(out: Path) -> tuple[list[int], list[int]]:
    from rapport import bootstrap
    from rapport.plugins import state
    from rapport.settings import load_settings
    from rapport.users.accounts import create_user
    from rapport.users.passwords import hash_password
    from rapport.users.tables import User

    from bench import pools

    runtime = await bootstrap.start(load_settings(out), migrate=True, call_startup=False)
    try:
        for name in sorted(runtime.plugins.installed):
            await state.enable(name)
        admin = await create_user(ADMIN_EMAIL, "Bench Admin", PASSWORD, "admin", "en")
        password_hash = hash_password(PASSWORD)  # one hash for all: argon2 is slow on purpose
        others = [
            User(
                email=f"user{i:02d}@rapport.example",
                name=f"{pools.RU_FIRST_MALE[i % 16]} {pools.RU_LAST[i]}"
                if i % 3
                else f"{pools.EN_FIRST[i % 18]} {pools.EN_LAST[i % 16]}",
                password_hash=password_hash,
                role="manager" if i < 5 else "staff",
                language="ru" if i % 3 else "en",
            )
            for i in range(1, USERS)
        ]
        await User.insert(*others)
        user_ids = [r["id"] for r in await User.select(User.id).order_by(User.id)]
        from rapport.contacts.tables import Tag

        await Tag.insert(*(Tag(name=name) for name in pools.TAGS))
        tag_ids = [r["id"] for r in await Tag.select(Tag.id).order_by(Tag.id)]
        assert admin["id"] in user_ids
        return user_ids, tag_ids
    finally:
        await bootstrap.stop()


async def _reindex(out: Path) -> None:
    from rapport import bootstrap
    from rapport.api import reindex_all
    from rapport.settings import load_settings

    await bootstrap.start(load_settings(out), call_startup=False)
    try:
        await reindex_all()
    finally:
        await bootstrap.stop()


# --- the bulk load --------------------------------------------------------------------------


def _specs(plan: Plan, user_ids: list[int], tag_ids: list[int]) -> Iterator[ChunkSpec]:
    chunks = (plan.contacts + CHUNK - 1) // CHUNK
    given = 0
    for index in range(chunks):
        first = index * CHUNK + 1
        count = min(CHUNK, plan.contacts - first + 1)
        # Activities per chunk in proportion to its contacts; the last chunk takes the rest.
        share = (
            plan.activities - given
            if index == chunks - 1
            else plan.activities * count // plan.contacts
        )
        given += share
        yield ChunkSpec(
            plan.seed, index, first, count, plan.contacts, share, tuple(user_ids), tuple(tag_ids)
        )


def _drop_for_load(db: sqlite3.Connection) -> list[str]:
    """Drop the search triggers and secondary indexes of the loaded tables; return their SQL."""
    marks = ",".join("?" * len(LOADED_TABLES))
    rows = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        f" AND type IN ('index', 'trigger') AND tbl_name IN ({marks}) ORDER BY type, name",
        LOADED_TABLES,
    ).fetchall()
    for kind, name, _sql in rows:
        db.execute(f'DROP {kind.upper()} "{name}"')
    # Indexes first, then triggers (recreated after the load, in this order).
    return [sql for kind, _name, sql in rows if kind == "index"] + [
        sql for kind, _name, sql in rows if kind == "trigger"
    ]


def _load(plan: Plan, user_ids: list[int], tag_ids: list[int]) -> dict[str, int]:
    db = sqlite3.connect(database_path(plan.out), isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")  # 256 MB while loading
    db.execute("PRAGMA temp_store = MEMORY")
    counts = dict.fromkeys(INSERTS, 0)
    counts["rejected_phones"] = 0
    saved = _drop_for_load(db)
    log(f"dropped {len(saved)} indexes and triggers for the load")
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    with context.Pool(plan.workers) as pool:
        db.execute("BEGIN")
        for done, chunk in enumerate(pool.imap(build_chunk, _specs(plan, user_ids, tag_ids)), 1):
            for name, sql in INSERTS.items():
                rows = getattr(chunk, name)
                db.executemany(sql, rows)
                counts[name] += len(rows)
            counts["rejected_phones"] += chunk.rejected_phones
            if done % 10 == 0:  # commit every 100k contacts
                db.execute("COMMIT")
                db.execute("BEGIN")
                rate = counts["contacts"] / (time.perf_counter() - started)
                log(
                    f"{counts['contacts']:,} contacts, {counts['activities']:,} activities"
                    f" ({rate:,.0f} contacts/s)"
                )
        db.execute("COMMIT")
    log(f"loaded in {time.perf_counter() - started:.0f} s; rebuilding indexes")
    started = time.perf_counter()
    for sql in saved:
        db.execute(sql)
    log(f"indexes and triggers rebuilt in {time.perf_counter() - started:.0f} s")
    db.close()
    return counts


def _plugin_data(
    plan: Plan, user_ids: list[int], done: dict[str, object] | None = None
) -> dict[str, object]:
    done = done or {}
    results: dict[str, object] = {}
    context = extensions.DataContext(
        plan.seed,
        plan.contacts,
        user_ids,
        {"deals": plan.deals, "submissions": plan.submissions},
    )
    for found in extensions.all_found():
        if isinstance(done.get(found.target.name), dict):  # loaded already: never twice
            results[found.target.name] = done[found.target.name]
            continue
        if found.module is None or not hasattr(found.module, "generate"):
            reason = found.reason or (
                f"skipped: plugin {found.target.name} ships no generate() in its bench module"
            )
            log(reason)
            results[found.target.name] = reason
            continue
        db = sqlite3.connect(database_path(plan.out), isolation_level=None)
        try:
            db.execute("BEGIN")
            results[found.target.name] = found.module.generate(db, context)
            db.execute("COMMIT")
        finally:
            db.close()
        log(f"{found.target.name}: {results[found.target.name]}")
    return results


def generate(plan: Plan, force: bool = False) -> dict[str, object]:
    path = database_path(plan.out)
    if plan.out.exists() and any(plan.out.iterdir()):
        if not force:
            raise SystemExit(f"{plan.out} is not empty (use --force to replace it)")
        shutil.rmtree(plan.out)
    plan.out.mkdir(parents=True)
    (plan.out / "rapport.toml").write_text('phone_region = "RU"\ncurrency = "RUB"\n')
    total = time.perf_counter()
    log(f"schema by the migrations into {path}")
    user_ids, tag_ids = asyncio.run(_prepare(plan.out))
    counts = _load(plan, user_ids, tag_ids)
    log("search index: reindex_all()")
    started = time.perf_counter()
    asyncio.run(_reindex(plan.out))
    reindex_seconds = time.perf_counter() - started
    log(f"search index rebuilt in {reindex_seconds:.0f} s")
    plugins = _plugin_data(plan, user_ids)
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    manifest = {
        "plan": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(plan).items()},
        "counts": counts,
        "companies": sum(1 for i in range(1, plan.contacts + 1) if is_company(i)),
        "users": len(user_ids),
        "tags": len(tag_ids),
        "plugins": plugins,
        "admin": {"email": ADMIN_EMAIL, "password": PASSWORD},
        "seconds": round(time.perf_counter() - total, 1),
        "database_bytes": path.stat().st_size,
    }
    (plan.out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    log(f"done in {manifest['seconds']} s: {json.dumps(counts)}")
    return manifest


async def _enable_plugins(out: Path) -> None:
    """Migrations of every installed plugin, and each one enabled (seeding its defaults)."""
    from rapport import bootstrap
    from rapport.plugins import state
    from rapport.settings import load_settings

    runtime = await bootstrap.start(load_settings(out), migrate=True, call_startup=False)
    try:
        for name in sorted(runtime.plugins.installed):
            await state.enable(name)
    finally:
        await bootstrap.stop()


def add_plugin_data(plan: Plan) -> dict[str, object]:
    """Bring an existing data set up to the installed plugins: their schema, their defaults,
    and the data of each plugin not loaded into it yet. Contacts and users stay as they are."""
    path = database_path(plan.out)
    manifest = json.loads((plan.out / MANIFEST).read_text())
    plan.contacts = manifest["counts"]["contacts"]
    plan.seed = manifest["plan"]["seed"]
    total = time.perf_counter()
    log(f"plugin schema and defaults in {path}")
    asyncio.run(_enable_plugins(plan.out))
    db = sqlite3.connect(path)
    user_ids = [r[0] for r in db.execute("SELECT id FROM rapport_user ORDER BY id")]
    db.close()
    plugins = _plugin_data(plan, user_ids, manifest.get("plugins", {}))
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    manifest["plugins"] = plugins
    manifest["plan"].update(deals=plan.deals, submissions=plan.submissions)
    manifest["database_bytes"] = path.stat().st_size
    (plan.out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    log(f"plugin data added in {time.perf_counter() - total:.0f} s: {json.dumps(plugins)}")
    return manifest
