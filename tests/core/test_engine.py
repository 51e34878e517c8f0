"""The SQLite data path: kept connections, WAL, immediate write transactions."""

import asyncio

import pytest
from rapport.contacts.tables import Tag
from rapport.db.current import current_engine
from rapport.db.engine import KeptSQLiteEngine
from rapport.db.transaction import transaction


@pytest.fixture
def sqlite_engine(rapport):
    engine = current_engine()
    if not isinstance(engine, KeptSQLiteEngine):
        pytest.skip("SQLite data path: this run uses PostgreSQL")
    return engine


async def test_queries_reuse_kept_connections(sqlite_engine):
    for _ in range(20):
        await Tag.count()
    assert sqlite_engine._open <= sqlite_engine.pool_size
    connection = await sqlite_engine.acquire()
    try:
        mode = await (await connection.execute("PRAGMA journal_mode")).fetchone()
        timeout = await (await connection.execute("PRAGMA busy_timeout")).fetchone()
        keys = await (await connection.execute("PRAGMA foreign_keys")).fetchone()
    finally:
        sqlite_engine.release(connection)
    assert list(mode.values()) == ["wal"]
    assert next(iter(timeout.values())) >= 5000
    assert list(keys.values()) == [1]


async def test_concurrent_read_then_write_transactions_do_not_lock(rapport):
    async def bump(i: int) -> None:
        async with transaction():
            await Tag.count()  # read first: a deferred transaction would fail here
            await asyncio.sleep(0)
            await Tag.insert(Tag(name=f"t{i}"))

    await asyncio.gather(*(bump(i) for i in range(12)))
    assert await Tag.count() == 12


async def test_rollback_returns_the_connection_to_the_pool(rapport):
    with pytest.raises(ZeroDivisionError):
        async with transaction():
            await Tag.insert(Tag(name="gone"))
            1 / 0  # noqa: B018
    assert await Tag.count() == 0
    await Tag.insert(Tag(name="kept"))
    assert await Tag.count() == 1


async def test_reads_outside_a_transaction_run_inline_and_see_every_commit(sqlite_engine):
    await Tag.insert(Tag(name="inline-1"))
    acquired = 0
    original = sqlite_engine.acquire

    async def counting():
        nonlocal acquired
        acquired += 1
        return await original()

    sqlite_engine.acquire = counting
    try:
        assert await Tag.exists().where(Tag.name == "inline-1")
        assert await Tag.count() >= 1
    finally:
        del sqlite_engine.acquire
    # The reads took no pooled connection: they ran on this thread's kept reader.
    assert acquired == 0
    reader = sqlite_engine._reader()
    assert reader.execute("PRAGMA query_only").fetchone() == {"query_only": 1}
    async with transaction():
        await Tag.insert(Tag(name="inline-2"))
        # Inside the transaction reads use its connection, so they see its own writes...
        assert await Tag.exists().where(Tag.name == "inline-2")
        # ...which the inline reader does not until the commit.
        assert reader.execute(
            "SELECT count(*) AS n FROM rapport_tag WHERE name = 'inline-2'"
        ).fetchone() == {"n": 0}
    assert await Tag.exists().where(Tag.name == "inline-2")


async def test_the_inline_reader_refuses_writes(sqlite_engine):
    import sqlite3

    with pytest.raises(sqlite3.OperationalError):
        sqlite_engine._reader().execute("DELETE FROM rapport_tag")


async def test_a_companys_people_and_deep_list_pages_are_index_ranges(sqlite_engine):
    """Without statistics SQLite once walked the whole name index for both (seconds at a
    million contacts); the plans must stay ranges on an index."""
    from rapport.contacts.listing import ListFilters, _after_clause, _filtered
    from rapport.contacts.tables import Contact

    def plan(query) -> str:
        # Bound parameters, as the app runs it: with literals the planner sees more.
        sql, args = query.querystrings[0].compile_string(engine_type="sqlite")
        rows = sqlite_engine._reader().execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
        return " / ".join(row["detail"] for row in rows)

    people = await _filtered(ListFilters(company=1, kind="person"), user_id=0, restricted=None)
    people_plan = plan(people.order_by(Contact.name, Contact.id).limit(50))
    assert "rapport_contact_company_list (company=? AND archived=?)" in people_plan
    page = await _filtered(ListFilters(), user_id=0, restricted=None)
    deep = page.where(_after_clause("name", ("Smith", 42))).order_by(Contact.name, Contact.id)
    assert "rapport_contact_list (archived=? AND name>?)" in plan(deep.limit(51))
