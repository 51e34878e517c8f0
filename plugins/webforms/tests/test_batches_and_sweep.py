"""Processing in batches (one transaction for several submissions, one by one when any of
them fails), group-committed acceptance, and the sweep that re-queues stuck submissions."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3

import pytest
from rapport.api import match_contact, timeline
from rapport.testing import deliver_outbox
from rapport_webforms import intake, sweep
from rapport_webforms.definitions import map_values
from rapport_webforms.forms import create_form
from rapport_webforms.tables import Submission

pytestmark = pytest.mark.enable("webforms")


async def _accept(form, email: str, name: str = "Visitor") -> int:
    values = {"name": name, "email": email, "consent": "on"}
    mapped = map_values(form.fields, values, "en")
    assert not mapped.errors
    return await intake.accept_submission(
        form, mapped, {"values": values}, intake.clean_context({}), "snippet", "192.0.2.1"
    )


async def _status(submission_id: int) -> str:
    row = await Submission.select(Submission.status).where(Submission.id == submission_id).first()
    return row["status"]


async def _form_activities(email: str) -> int:
    found = await match_contact(email=email)
    assert found is not None, email
    return [e["kind"] for e in await timeline(found.id)].count("form_submitted")


async def test_concurrent_acceptances_are_each_stored_and_share_commits(rapport, monkeypatch):
    form = await create_form("Batch", min_fill_seconds=0)
    batches: list[list[int]] = []
    original = intake.process_submissions

    async def spy(submission_ids):
        batches.append(list(submission_ids))
        return await original(submission_ids)

    monkeypatch.setattr(intake, "process_submissions", spy)
    before = intake.accepting.commits
    ids = await asyncio.gather(*(_accept(form, f"v{i}@example.com") for i in range(12)))
    assert len(set(ids)) == 12
    assert [await _status(i) for i in ids] == ["received"] * 12
    assert intake.accepting.commits - before < 12  # some waited for one shared commit
    assert await deliver_outbox() == 12
    assert [await _status(i) for i in ids] == ["created"] * 12
    # Processed ten to a transaction (the consumer's batch size), in the order accepted.
    assert batches == [sorted(ids)[:10], sorted(ids)[10:]]


async def test_a_batch_with_a_failing_submission_loses_and_repeats_none_of_the_others(
    rapport, monkeypatch
):
    form = await create_form("Batch", min_fill_seconds=0)
    emails = [f"b{i}@example.com" for i in range(5)]
    ids = [await _accept(form, email) for email in emails]
    bad_create = intake._create

    async def create(form_, mapped, context):
        if mapped.email == emails[2]:
            raise ValueError("the rule names a user who left")
        return await bad_create(form_, mapped, context)

    monkeypatch.setattr(intake, "_create", create)
    await deliver_outbox()
    # The batch was rolled back and processed one by one: only the bad one failed.
    assert [await _status(i) for i in ids] == ["created", "created", "failed", "created", "created"]
    for email in emails[:2] + emails[3:]:
        assert await _form_activities(email) == 1
    assert await match_contact(email=emails[2]) is None
    # A redelivery of the whole batch does nothing more.
    assert await intake.process_submissions(ids) == []
    for email in emails[:2] + emails[3:]:
        assert await _form_activities(email) == 1


async def test_a_database_failure_in_a_batch_keeps_the_failing_one_waiting_for_a_retry(
    rapport, monkeypatch
):
    form = await create_form("Batch", min_fill_seconds=0)
    emails = [f"d{i}@example.com" for i in range(4)]
    ids = [await _accept(form, email) for email in emails]
    original = intake.log_activity

    async def crash_for_one(contact_id, kind, **kwargs):
        await original(contact_id, kind, **kwargs)
        if kwargs.get("payload", {}).get("submission_id") == ids[1]:
            raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(intake, "log_activity", crash_for_one)
    await deliver_outbox()
    assert [await _status(i) for i in ids] == ["created", "received", "created", "created"]
    assert await match_contact(email=emails[1]) is None  # nothing of it half written
    monkeypatch.setattr(intake, "log_activity", original)
    # What the outbox's retry does later:
    outcome = await intake.process_submission(ids[1])
    assert outcome is not None and outcome.created
    for email in emails:
        assert await _form_activities(email) == 1


async def test_the_same_visitor_twice_in_one_batch_is_one_contact(rapport):
    form = await create_form("Batch", min_fill_seconds=0)
    first = await _accept(form, "twice@example.com", "Twice")
    second = await _accept(form, "TWICE@example.com", "Twice")
    outcomes = await intake.process_submissions([first, second])
    assert [o.created for o in outcomes] == [True, False]
    assert outcomes[0].contact_id == outcomes[1].contact_id
    assert await _status(first) == "created" and await _status(second) == "attached"
    assert await _form_activities("twice@example.com") == 2


async def test_the_sweep_requeues_only_submissions_stuck_in_received(rapport, monkeypatch):
    form = await create_form("Sweep", min_fill_seconds=0)
    stuck = await _accept(form, "stuck@example.com")
    fresh = await _accept(form, "fresh@example.com")

    async def gave_up(*args, **kwargs):
        return None  # as if the outbox had given up on these events

    monkeypatch.setattr(intake, "process_submission", gave_up)
    monkeypatch.setattr(intake, "process_submissions", gave_up)
    await deliver_outbox()
    monkeypatch.undo()
    assert await _status(stuck) == "received" and await _status(fresh) == "received"
    await Submission.update(
        {Submission.received_at: dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)}
    ).where(Submission.id == stuck)

    assert await sweep.requeue_stuck() == 1
    assert await sweep.requeue_stuck() == 1  # queued twice before the worker ran
    await deliver_outbox()
    assert await _status(stuck) == "created" and await _status(fresh) == "received"
    assert await _form_activities("stuck@example.com") == 1  # twice queued, processed once
    assert await sweep.requeue_stuck() == 0


async def test_the_sweep_is_a_scheduled_job_of_the_plugin(rapport):
    jobs = {j.name for j in rapport.plugins.collect("register_jobs")}
    schedules = {s.job for s in rapport.plugins.collect("register_schedules")}
    assert sweep.JOB in jobs and sweep.JOB in schedules
