"""Batch consumers of the outbox: runs of events without a repeated key, and one by one
when a batch fails, with the usual retries for those that fail alone."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from background_kit import registered, utcnow
from rapport.db.transaction import transaction
from rapport.events.bus import publish
from rapport.events.consumers import Consumer
from rapport.events.core_events import ContactCreated
from rapport.events.tables import DeliveryRetry
from rapport.jobs.worker import run_once


class Boom(Exception):
    pass


class BatchRecorder:
    """Records batches and single deliveries; a batch holding a ``poisoned`` id fails, and
    that id fails alone too while ``still_failing``."""

    def __init__(self, batch_size: int = 50) -> None:
        self.batch_size = batch_size
        self.batches: list[list[int]] = []
        self.singles: list[int] = []
        self.poisoned: set[int] = set()
        self.still_failing = True
        self.attempts: Counter[int] = Counter()

    async def handle(self, event, meta) -> None:
        self.attempts[meta.id] += 1
        if meta.id in self.poisoned and self.still_failing:
            raise Boom(f"cannot take {meta.id}")
        self.singles.append(meta.id)

    async def handle_batch(self, items) -> None:
        ids = [meta.id for _event, meta in items]
        if self.poisoned & set(ids):
            raise Boom("a batch with a bad event")
        self.batches.append(ids)

    def consumer(self) -> Consumer:
        return Consumer(
            "batch",
            self.handle,
            handle_batch=self.handle_batch,
            batch_size=self.batch_size,
        )

    def delivered(self) -> list[int]:
        return sorted([i for batch in self.batches for i in batch] + self.singles)


async def publish_for(*contacts: int) -> list[int]:
    async with transaction():
        return [
            (await publish(ContactCreated(contact_id=c, kind="person", name=f"c{c}"))).id
            for c in contacts
        ]


async def make_retries_due() -> None:
    await DeliveryRetry.update(
        {DeliveryRetry.next_attempt_at: utcnow() - dt.timedelta(seconds=1)}
    ).where(DeliveryRetry.status == "pending")


def consuming(rapport, consumer: Consumer):
    return registered(rapport, register_event_consumers=lambda: [consumer])


async def test_a_batch_consumer_gets_runs_of_distinct_keys_in_order(rapport):
    recorder = BatchRecorder(batch_size=3)
    with consuming(rapport, recorder.consumer()):
        ids = await publish_for(1, 2, 3, 4, 5, 5, 6)
        result = await run_once(rapport)
    assert result["delivered"] == 7
    # At most three a batch, and the second event of contact 5 starts a new run.
    assert recorder.batches == [ids[0:3], ids[3:5], ids[5:7]]
    assert recorder.singles == []


async def test_a_failing_batch_is_delivered_one_by_one_and_only_the_bad_event_retried(rapport):
    recorder = BatchRecorder()
    with consuming(rapport, recorder.consumer()):
        ids = await publish_for(1, 2, 3, 4)
        recorder.poisoned = {ids[1]}
        await run_once(rapport)
        # The batch failed as a whole; each event then went alone, and only the bad one failed.
        assert recorder.batches == []
        assert recorder.singles == [ids[0], ids[2], ids[3]]
        [retry] = await DeliveryRetry.select().where(DeliveryRetry.consumer == "batch")
        assert (retry["event_id"], retry["status"]) == (ids[1], "pending")

        recorder.still_failing = False
        await make_retries_due()
        await run_once(rapport)
    assert recorder.delivered() == ids  # each once, none lost
    assert recorder.attempts[ids[0]] == 1 and recorder.attempts[ids[1]] == 2
    assert await DeliveryRetry.select().where(DeliveryRetry.consumer == "batch") == []


async def test_events_of_a_key_held_back_by_a_failure_wait_behind_it_in_a_batch(rapport):
    recorder = BatchRecorder()
    with consuming(rapport, recorder.consumer()):
        a1, b1 = await publish_for(1, 2)
        recorder.poisoned = {a1}
        await run_once(rapport)
        a2, b2 = await publish_for(1, 2)
        await run_once(rapport)
        assert a2 not in recorder.delivered()  # waits behind a1
        assert recorder.delivered() == [b1, b2]
        recorder.still_failing = False
        await make_retries_due()
        await run_once(rapport)
    assert recorder.delivered() == sorted([a1, b1, a2, b2])
    assert recorder.singles.index(a1) < recorder.singles.index(a2)


async def test_a_consumer_without_a_batch_form_is_handed_events_one_at_a_time(rapport):
    seen: list[int] = []

    async def handle(event, meta) -> None:
        seen.append(meta.id)

    with consuming(rapport, Consumer("single", handle)):
        ids = await publish_for(1, 2, 3)
        await run_once(rapport)
    assert seen == ids
