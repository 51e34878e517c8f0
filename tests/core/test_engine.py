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
