"""Outbox delivery to asynchronous consumers: order per key, retries behind a failure, dead
letters, leases, and a worker killed mid-run (in a subprocess) losing nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from background_kit import delivery_options, eventually, plugin_module, registered, utcnow
from rapport.db.current import is_sqlite
from rapport.db.transaction import transaction
from rapport.events.bus import publish
from rapport.events.consumers import Consumer
from rapport.events.core_events import ContactCreated, TaskCompleted
from rapport.events.delivery import Delivery
from rapport.events.tables import ConsumerCursor, DeliveryRetry
from rapport.jobs.worker import run_once
from rapport.plugins import state

CHILD = Path(__file__).with_name("delivery_child.py")


class Boom(Exception):
    pass


class Recorder:
    """A consumer's handler that records what it took and fails when told to."""

    def __init__(self, failures: dict[int, int] | None = None) -> None:
        self.failures = failures or {}  # event id → how many first attempts fail
        self.attempts: Counter[int] = Counter()
        self.taken: list[tuple[int, str]] = []

    async def handle(self, event, meta) -> None:
        self.attempts[meta.id] += 1
        if self.attempts[meta.id] <= self.failures.get(meta.id, 0):
            raise Boom(f"endpoint refused event {meta.id}")
        self.taken.append((meta.id, meta.key))

    def consumer(self, name: str = "rec", **options) -> Consumer:
        return Consumer(name, self.handle, **options)

    def ids(self) -> list[int]:
        return [event_id for event_id, _ in self.taken]


def consuming(rapport, *consumers: Consumer):
    return registered(rapport, register_event_consumers=lambda: list(consumers))


async def publish_for(*contacts: int) -> list[int]:
    """One ``contact.created`` per contact id (key ``contact:<id>``), in one transaction."""
    async with transaction():
        return [
            (await publish(ContactCreated(contact_id=c, kind="person", name=f"c{c}"))).id
            for c in contacts
        ]


async def retry_rows(consumer: str = "rec") -> list[dict]:
    return (
        await DeliveryRetry.select()
        .where(DeliveryRetry.consumer == consumer)
        .order_by(DeliveryRetry.event_id)
    )


async def make_retries_due() -> None:
    await DeliveryRetry.update(
        {DeliveryRetry.next_attempt_at: utcnow() - dt.timedelta(seconds=1)}
    ).where(DeliveryRetry.status == "pending")


async def test_events_reach_a_consumer_once_each_in_order(rapport):
    recorder = Recorder()
    with consuming(rapport, recorder.consumer()):
        first = await publish_for(1, 2, 3, 1, 2, 3, 1)
        result = await run_once(rapport)
        second = await publish_for(3, 2, 1)
        await run_once(rapport)
        await run_once(rapport)
    assert result["delivered"] == len(first)
    assert recorder.ids() == first + second
    assert recorder.taken[0] == (first[0], "contact:1")
    cursor = await ConsumerCursor.select().where(ConsumerCursor.consumer == "rec").first()
    assert cursor["position"] == second[-1] and cursor["locked_by"] == ""


async def test_a_failing_event_holds_back_its_key_only_until_it_goes_through(rapport, monkeypatch):
    recorder = Recorder()
    with consuming(rapport, recorder.consumer()):
        a1, b1, a2, b2 = await publish_for(1, 2, 1, 2)
        recorder.failures[a1] = 3
        before = utcnow()
        await run_once(rapport)
        assert recorder.ids() == [b1, b2]  # key contact:2 flows past the failure
        head, waiting = await retry_rows()
        assert (head["event_id"], head["status"], head["attempts"]) == (a1, "pending", 1)
        assert head["next_attempt_at"] > before + dt.timedelta(seconds=1)  # backed off
        assert "endpoint refused" in head["last_error"]
        assert (waiting["event_id"], waiting["status"]) == (a2, "waiting")

        a3, b3 = await publish_for(1, 2)
        await run_once(rapport)
        assert recorder.ids() == [b1, b2, b3]  # a3 waits too; the head is not due yet
        assert recorder.attempts[a1] == 1

        delivery_options(monkeypatch, backoff_base=0.0)
        await make_retries_due()
        await run_once(rapport)
    assert recorder.ids() == [b1, b2, b3, a1, a2, a3]
    assert recorder.attempts[a1] == 4 and recorder.ids().count(a1) == 1
    assert await retry_rows() == []


async def test_an_event_failing_max_attempts_times_is_a_dead_letter(rapport, monkeypatch, caplog):
    delivery_options(monkeypatch, backoff_base=0.0)
    recorder = Recorder()
    with consuming(rapport, recorder.consumer(max_attempts=3)):
        a1, b1, a2 = await publish_for(1, 2, 1)
        recorder.failures[a1] = 100
        with caplog.at_level(logging.ERROR, logger="rapport.events.delivery"):
            await run_once(rapport)
    assert recorder.attempts[a1] == 3
    assert recorder.ids() == [b1, a2]  # the key flows again after the dead letter
    [dead] = await retry_rows()
    assert (dead["event_id"], dead["status"], dead["attempts"]) == (a1, "dead", 3)
    assert "Boom: endpoint refused" in dead["last_error"]
    assert f"gave up on outbox event {a1}" in caplog.text


async def test_a_consumer_gets_only_the_types_it_wants(rapport):
    recorder = Recorder()
    with consuming(rapport, recorder.consumer(types=("task.completed",))):
        async with transaction():
            await publish(ContactCreated(contact_id=5, kind="person", name="Ann"))
            done = await publish(TaskCompleted(activity_id=9, contact_id=5))
        await run_once(rapport)
    assert recorder.ids() == [done.id]
    cursor = await ConsumerCursor.select().where(ConsumerCursor.consumer == "rec").first()
    assert cursor["position"] == done.id


async def test_one_worker_at_a_time_feeds_a_consumer(rapport):
    recorder = Recorder()
    with consuming(rapport, recorder.consumer()):
        first = await publish_for(1, 2)
        one, two = Delivery("one"), Delivery("two")
        assert (await one.run_pass(rapport.plugins)).delivered == 2
        more = await publish_for(3)
        assert (await two.run_pass(rapport.plugins)).delivered == 0  # "one" holds the lease
        await one.heartbeat()  # what the worker does while a slow handler runs
        cursor = await ConsumerCursor.select().where(ConsumerCursor.consumer == "rec").first()
        assert cursor["locked_by"] == "one" and cursor["locked_until"] > utcnow()
        assert (await two.run_pass(rapport.plugins)).delivered == 0
        await one.release_leases()
        assert (await two.run_pass(rapport.plugins)).delivered == 1
    assert recorder.ids() == first + more


async def test_a_new_consumer_of_a_plugin_starts_where_the_plugin_was_enabled(rapport):
    recorder = Recorder()
    module = plugin_module(
        "bghooks",
        register_event_consumers=lambda: [recorder.consumer("bghooks.sync", types="*")],
    )
    rapport.plugins.add(module)
    await publish_for(1)  # before the plugin existed for this instance
    await state.enable("bghooks")
    later = await publish_for(2)
    await run_once(rapport)
    assert [key for _, key in recorder.taken] == ["", "contact:2"]
    assert recorder.ids()[1:] == later  # the first is the plugin.enabled event itself


@pytest.mark.skipif("RAPPORT_TEST_DATABASE_URL" not in os.environ, reason="PostgreSQL only")
async def test_delivery_waits_at_a_hole_left_by_a_transaction_still_open(
    rapport, rapport_settings, monkeypatch
):
    import asyncpg

    delivery_options(monkeypatch, gap_settle=0.0)
    assert not is_sqlite()
    recorder = Recorder()
    payload = json.dumps({"contact_id": 1, "kind": "person", "name": "slow"})
    connection = await asyncpg.connect(rapport_settings.database_url)
    try:
        with consuming(rapport, recorder.consumer()):
            delivery = Delivery("pg")
            await publish_for(9)
            await delivery.run_pass(rapport.plugins)
            recorder.taken.clear()
            open_tx = connection.transaction()
            await open_tx.start()
            slow = await connection.fetchval(
                "INSERT INTO rapport_outbox (type, version, key, payload, actor, created_at)"
                " VALUES ('contact.created', 1, 'contact:1', $1, NULL, now()) RETURNING id",
                payload,
            )
            [fast] = await publish_for(2)  # commits first, with a higher id
            for _ in range(3):
                await delivery.run_pass(rapport.plugins)
            assert recorder.taken == []  # not past the hole while it may still fill
            await open_tx.commit()

            async def both_taken() -> bool:
                await delivery.run_pass(rapport.plugins)
                return len(recorder.taken) == 2

            await eventually(both_taken)
            assert recorder.ids() == [slow, fast]

            rolled_back = connection.transaction()
            await rolled_back.start()
            await connection.execute(
                "INSERT INTO rapport_outbox (type, version, key, payload, actor, created_at)"
                " VALUES ('contact.created', 1, 'contact:3', $1, NULL, now())",
                payload,
            )
            await rolled_back.rollback()
            [after] = await publish_for(4)

            async def taken_after_the_hole() -> bool:  # a hole that never fills is passed
                await delivery.run_pass(rapport.plugins)
                return len(recorder.taken) == 3

            await eventually(taken_after_the_hole)
            assert recorder.ids() == [slow, fast, after]
    finally:
        await connection.close()


def _read_lines(path: Path) -> list[tuple[int, str]]:
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            lines.append((int(parts[0]), parts[1]))
    return lines


def _start_child(rapport_settings, out: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": rapport_settings.database_url,
        "RAPPORT_DATA_DIR": str(rapport_settings.data_dir),
        "RAPPORT_SECRET_KEY": rapport_settings.secret_key,
    }
    return subprocess.Popen([sys.executable, str(CHILD), str(out), "0.001"], env=env)


async def test_a_worker_killed_mid_run_loses_nothing_and_keeps_order_per_key(
    rapport, rapport_settings, tmp_path
):
    published: list[int] = []
    for start in range(0, 2000, 250):  # 2,000 events over 20 keys, in 8 transactions
        published += await publish_for(*[(n % 20) + 1 for n in range(start, start + 250)])
    out = tmp_path / "delivered.txt"
    child = _start_child(rapport_settings, out)
    try:
        await eventually(lambda: child.poll() is None and len(_read_lines(out)) >= 300, 60)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        seen_at_kill = len(_read_lines(out))
        assert seen_at_kill < len(published)  # it really died mid-run
        child = _start_child(rapport_settings, out)
        wanted = set(published)
        await eventually(lambda: wanted <= {i for i, _ in _read_lines(out)}, 60, 0.1)
        child.send_signal(signal.SIGTERM)
        assert child.wait(20) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    wanted = set(published)
    lines = [(i, key) for i, key in _read_lines(out) if i in wanted]
    firsts: dict[str, list[int]] = {}
    seen: set[int] = set()
    for event_id, key in lines:
        if event_id not in seen:
            seen.add(event_id)
            firsts.setdefault(key, []).append(event_id)
    assert seen == set(published)
    assert len(firsts) == 20
    for key, ids in firsts.items():
        assert ids == sorted(ids), f"key {key} delivered out of order"


async def test_a_handler_that_hangs_times_out_and_is_retried(rapport, monkeypatch):
    delivery_options(monkeypatch, handler_timeout=0.05)
    hung = []

    async def handle(event, meta) -> None:
        if not hung:
            hung.append(meta.id)
            await asyncio.sleep(3600)
        recorder.taken.append((meta.id, meta.key))

    recorder = Recorder()
    with consuming(rapport, Consumer("rec", handle)):
        a1, b1 = await publish_for(1, 2)
        await run_once(rapport)
        assert recorder.ids() == [b1]
        [row] = await retry_rows()
        assert row["last_error"] == "timed out after 0.05s" and row["event_id"] == a1
        await make_retries_due()
        await run_once(rapport)
    assert recorder.ids() == [b1, a1] and await retry_rows() == []
