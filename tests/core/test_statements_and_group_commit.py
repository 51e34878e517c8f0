"""Fixed statements on the caller's connection, and group commit of concurrent writes."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rapport.db.group_commit import GroupCommit
from rapport.db.statements import Statement
from rapport.db.transaction import transaction
from rapport.events.bus import publish
from rapport.events.core_events import ContactCreated
from rapport.events.tables import OutboxEvent

INSERT = Statement(
    'INSERT INTO rapport_outbox (type, version, "key", payload, actor, created_at)'
    " VALUES ({}, {}, {}, {}, {}, {}) RETURNING id"
)
COUNT = Statement("SELECT count(*) AS n FROM rapport_outbox WHERE type = {}")


async def _insert(kind: str) -> int:
    rows = await INSERT.fetch(kind, 1, "", "{}", None, dt.datetime.now(dt.UTC))
    return int(rows[0]["id"])


async def _count(kind: str) -> int:
    row = await COUNT.fetch_one(kind)
    assert row is not None
    return int(row["n"])


def test_a_statement_speaks_each_engines_placeholders():
    statement = Statement("SELECT a FROM t WHERE a = {} AND b IN ({}, {}) AND c = '{x}'")
    assert statement.for_sqlite() == "SELECT a FROM t WHERE a = ? AND b IN (?, ?) AND c = '{x}'"
    assert statement.for_postgres() == (
        "SELECT a FROM t WHERE a = $1 AND b IN ($2, $3) AND c = '{x}'"
    )


async def test_a_statement_joins_the_open_transaction_and_rolls_back_with_it(rapport):
    with pytest.raises(RuntimeError):
        async with transaction():
            await _insert("test.rolled_back")
            assert await _count("test.rolled_back") == 1  # seen inside, on the same connection
            raise RuntimeError("undo")
    assert await _count("test.rolled_back") == 0
    async with transaction():
        await _insert("test.kept")
    new_id = await _insert("test.kept")  # outside a transaction: its own write
    assert await _count("test.kept") == 2
    row = await OutboxEvent.select().where(OutboxEvent.id == new_id).first()
    assert row["type"] == "test.kept" and row["created_at"].tzinfo is not None


async def test_a_statement_checks_the_number_of_values(rapport):
    with pytest.raises(TypeError):
        await COUNT.fetch()


async def test_concurrent_writes_share_commits_and_each_caller_sees_its_own_result(rapport):
    group = GroupCommit()

    async def write(n: int) -> int:
        event_id = await _insert(f"test.group.{n % 2}")
        await asyncio.sleep(0)  # another caller queues meanwhile
        return event_id

    ids = await asyncio.gather(*(group.run(lambda n=n: write(n)) for n in range(20)))
    assert len(set(ids)) == 20
    assert await _count("test.group.0") == 10 and await _count("test.group.1") == 10
    assert group.writes == 20 and group.commits < 20  # at least some shared a commit


async def test_a_failing_write_fails_alone_and_the_rest_of_its_group_is_committed(rapport):
    group = GroupCommit()

    async def write(n: int) -> int:
        if n == 3:
            await _insert("test.group.bad")  # rolled back with the failure
            raise ValueError("bad submission")
        return await _insert("test.group.good")

    results = await asyncio.gather(
        *(group.run(lambda n=n: write(n)) for n in range(6)), return_exceptions=True
    )
    assert isinstance(results[3], ValueError)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 3)
    assert await _count("test.group.good") == 5
    assert await _count("test.group.bad") == 0


async def test_events_published_in_a_group_are_dispatched_after_its_commit(
    rapport, captured_events
):
    group = GroupCommit()

    async def write(n: int) -> int:
        meta = await publish(ContactCreated(contact_id=n, kind="person", name=f"p{n}"))
        return meta.id

    ids = await asyncio.gather(*(group.run(lambda n=n: write(n)) for n in range(5)))
    dispatched = [meta.id for _event, meta in captured_events if meta.type == "contact.created"]
    assert sorted(dispatched) == sorted(ids)


async def test_inside_a_transaction_a_group_write_joins_it(rapport):
    group = GroupCommit()
    with pytest.raises(RuntimeError):
        async with transaction():
            await group.run(lambda: _insert("test.group.joined"))
            raise RuntimeError("undo")
    assert await _count("test.group.joined") == 0
    assert group.commits == 0
