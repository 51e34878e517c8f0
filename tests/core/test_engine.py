"""The SQLite data path: kept connections, WAL, immediate write transactions."""

import asyncio
import contextvars

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


# --- Write transactions run inline, serialised by an asyncio lock ----------------------------


def _hold_write_lock(path: str, seconds: float) -> str:
    """A child process's code: take SQLite's write lock, say so, hold it ``seconds``."""
    return (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({path!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        f"time.sleep({seconds})\n"
        "c.execute('COMMIT')\n"
    )


async def _lock_in_another_process(sqlite_engine, seconds: float):
    import sys

    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _hold_write_lock(sqlite_engine.path, seconds),
        stdout=asyncio.subprocess.PIPE,
    )
    assert await asyncio.wait_for(child.stdout.readline(), 30) == b"locked\n"
    return child


class _Ticker:
    """A coroutine that counts while it is scheduled: proof that the loop is not blocked."""

    def __init__(self) -> None:
        self.ticks = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    def stop(self) -> int:
        self.task.cancel()
        return self.ticks


async def test_two_writers_in_one_process_take_turns_and_both_commit(rapport):
    order: list[str] = []
    first_holds = asyncio.Event()

    async def first() -> None:
        async with transaction():
            await Tag.insert(Tag(name="first-a"))
            first_holds.set()
            await asyncio.sleep(0.2)  # holding the transaction while awaiting something else
            await Tag.insert(Tag(name="first-b"))
            order.append("first committed")

    async def second() -> None:
        await first_holds.wait()
        async with transaction():
            order.append("second began")
            await Tag.insert(Tag(name="second"))

    await asyncio.wait_for(asyncio.gather(first(), second()), 30)
    if isinstance(current_engine(), KeptSQLiteEngine):
        # SQLite has one writer: the second waited (cooperatively) for the first's commit.
        # PostgreSQL runs both at once, since they touch different rows.
        assert order == ["first committed", "second began"]
    names = await Tag.select(Tag.name).order_by(Tag.id).output(as_list=True)
    assert sorted(names) == ["first-a", "first-b", "second"]


async def test_a_writer_waits_cooperatively_for_another_process_then_commits(sqlite_engine):
    child = await _lock_in_another_process(sqlite_engine, 0.6)
    ticker = _Ticker()
    try:
        async with transaction():
            began = ticker.ticks
            await Tag.insert(Tag(name="after-the-other-process"))
        single_write_began = ticker.ticks
        await Tag.insert(Tag(name="single-write"))  # the lock is free now: no wait
    finally:
        ticks = ticker.stop()
        await child.wait()
    # The loop ran the ticker while the writer waited for the other process's lock.
    assert began >= 10
    assert ticks - single_write_began <= 2
    assert await Tag.count() == 2


async def test_a_writer_gets_database_is_locked_after_the_busy_timeout(sqlite_engine, monkeypatch):
    import sqlite3

    from rapport.db.errors import database_unavailable

    monkeypatch.setattr(sqlite_engine, "busy_timeout", 0.3)
    child = await _lock_in_another_process(sqlite_engine, 30)
    ticker = _Ticker()
    try:
        with pytest.raises(sqlite3.OperationalError) as in_transaction:
            async with transaction():
                await Tag.insert(Tag(name="never"))
        with pytest.raises(sqlite3.OperationalError) as single_write:
            await Tag.insert(Tag(name="never either"))
        ticks = ticker.stop()
    finally:
        child.kill()
        await child.wait()
    for refused in (in_transaction.value, single_write.value):
        assert "database is locked" in str(refused)
        assert database_unavailable(refused)  # what the intake endpoints answer 503 for
    assert ticks >= 20  # about 0.6 s of waiting, all of it cooperative
    await Tag.insert(Tag(name="later"))  # the other process is gone: writes go through
    assert await Tag.select(Tag.name).output(as_list=True) == ["later"]


async def test_a_writer_waiting_for_the_in_process_lock_also_times_out(sqlite_engine, monkeypatch):
    import sqlite3

    monkeypatch.setattr(sqlite_engine, "busy_timeout", 0.2)
    holding = asyncio.Event()
    done = asyncio.Event()

    async def holder() -> None:
        async with transaction():
            await Tag.insert(Tag(name="held"))
            holding.set()
            await done.wait()

    task = asyncio.create_task(holder())
    await holding.wait()
    # A fresh context, as a task started from outside the transaction would have.
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await asyncio.create_task(
            Tag.insert(Tag(name="waits")).run(), context=contextvars.Context()
        )
    done.set()
    await task
    assert await Tag.select(Tag.name).output(as_list=True) == ["held"]


async def test_a_failed_statement_rolls_back_and_surfaces_as_before(rapport, captured_events):
    import sqlite3

    from rapport.events.bus import publish
    from rapport.events.core_events import ContactCreated
    from rapport.events.tables import OutboxEvent

    await Tag.insert(Tag(name="taken"))
    integrity_errors: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)
    if not isinstance(current_engine(), KeptSQLiteEngine):
        import asyncpg

        integrity_errors = (asyncpg.UniqueViolationError,)
    with pytest.raises(integrity_errors):
        async with transaction():
            await publish(ContactCreated(contact_id=1, kind="person", name="Ghost"))
            await Tag.insert(Tag(name="fresh"))
            await Tag.insert(Tag(name="taken"))  # unique name: the database refuses
    assert captured_events == []  # the event of the rolled-back transaction is not dispatched
    assert await OutboxEvent.count() == 0
    assert await Tag.select(Tag.name).output(as_list=True) == ["taken"]
    engine = current_engine()
    if isinstance(engine, KeptSQLiteEngine):
        writer = engine._writer_state()
        assert writer.connection is not None and not writer.connection.in_transaction
        assert not writer.lock.locked()
    async with transaction():  # the connection is clean: the next transaction works
        await publish(ContactCreated(contact_id=2, kind="person", name="Anna"))
        await Tag.insert(Tag(name="fresh"))
    assert [e.name for e, _ in captured_events] == ["Anna"]
    assert await Tag.count() == 2


async def test_nested_transactions_join_the_outer_one(rapport, captured_events):
    from rapport.events.bus import publish
    from rapport.events.core_events import ContactCreated

    engine = current_engine()
    with pytest.raises(ZeroDivisionError):
        async with transaction():
            outer = engine.current_transaction.get()
            async with transaction():
                assert engine.current_transaction.get() is outer
                await publish(ContactCreated(contact_id=1, kind="person", name="Inner"))
                await Tag.insert(Tag(name="inner"))
            async with engine.transaction() as piccolo_tx:  # Piccolo's own: joins as well
                assert piccolo_tx is outer
                await Tag.insert(Tag(name="piccolo"))
            assert captured_events == []  # the inner blocks did not commit or dispatch
            1 / 0  # noqa: B018
    assert captured_events == []
    assert await Tag.count() == 0

    async with transaction():
        await Tag.insert(Tag(name="kept"))
        savepoint = await engine.current_transaction.get().savepoint()
        await Tag.insert(Tag(name="undone"))
        await savepoint.rollback_to()
    assert await Tag.select(Tag.name).output(as_list=True) == ["kept"]


async def test_atomic_and_deferred_transactions_still_work(rapport):
    engine = current_engine()
    atomic = engine.atomic()
    atomic.add(Tag.insert(Tag(name="a1")), Tag.insert(Tag(name="a2")))
    await atomic.run()
    async with engine.transaction():
        await Tag.insert(Tag(name="deferred"))
    assert await Tag.count() == 3


async def test_writes_run_inline_without_the_thread_pool(sqlite_engine):
    acquired = 0
    original = sqlite_engine.acquire

    async def counting():
        nonlocal acquired
        acquired += 1
        return await original()

    sqlite_engine.acquire = counting
    try:
        await Tag.insert(Tag(name="single"))
        await Tag.update({Tag.colour: "red"}).where(Tag.name == "single")
        async with transaction():
            await Tag.insert(Tag(name="in-transaction"))
            await Tag.delete().where(Tag.name == "single")
    finally:
        del sqlite_engine.acquire
    assert acquired == 0
    writer = sqlite_engine._writer_state()
    raw = writer.connection
    assert raw.execute("PRAGMA busy_timeout").fetchone() == {"timeout": 0}
    assert raw.execute("PRAGMA synchronous").fetchone() == {"synchronous": 1}  # NORMAL
    assert raw.execute("PRAGMA foreign_keys").fetchone() == {"foreign_keys": 1}
    assert await Tag.select(Tag.name).output(as_list=True) == ["in-transaction"]


_COMMIT_AND_SAY = """
import asyncio, sys
from piccolo.engine.sqlite import TransactionType
from rapport.contacts.tables import Tag
from rapport.db.engine import KeptSQLiteEngine

async def main():
    engine = KeptSQLiteEngine(path=sys.argv[1])
    Tag._meta.db = engine
    i = 0
    while True:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            await Tag.insert(Tag(name=f"k{i}"))
        print(i, flush=True)  # said only after the commit returned
        i += 1

asyncio.run(main())
"""


async def test_a_committed_inline_transaction_survives_kill_9(sqlite_engine):
    import signal
    import subprocess
    import sys

    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _COMMIT_AND_SAY, sqlite_engine.path, stdout=subprocess.PIPE
    )
    acknowledged: list[int] = []
    try:
        while len(acknowledged) < 200:
            line = await asyncio.wait_for(child.stdout.readline(), 30)
            assert line, "the child stopped"
            acknowledged.append(int(line))
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    names = set(await Tag.select(Tag.name).output(as_list=True))
    assert {f"k{i}" for i in acknowledged} <= names
