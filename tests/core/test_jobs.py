"""Durable jobs, schedules and services on a real database (SQLite, or PostgreSQL when
RAPPORT_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from background_kit import eventually, plugin_module, registered, utcnow
from rapport.db.transaction import transaction
from rapport.jobs import scheduler, services
from rapport.jobs.definitions import JobDefinition, Schedule, Service
from rapport.jobs.queue import claim, enqueue, get_job, heartbeat, set_progress
from rapport.jobs.tables import Job, ScheduleState
from rapport.jobs.worker import run_once, run_worker
from rapport.plugins import state


class Boom(Exception):
    pass


def jobs(*definitions: JobDefinition):
    return {"register_jobs": lambda: list(definitions)}


async def make_due(job_id: int) -> None:
    """Skip a job's back-off: as if its retry time had come."""
    await Job.update({Job.run_at: utcnow() - dt.timedelta(seconds=1)}).where(Job.id == job_id)


async def test_job_enqueued_in_rolled_back_transaction_never_runs(rapport):
    ran = []
    with registered(rapport, **jobs(JobDefinition("t.record", lambda: ran.append(1)))):
        with pytest.raises(Boom):
            async with transaction():
                assert await enqueue("t.record") is not None
                raise Boom
        assert await Job.count() == 0
        await run_once(rapport)
    assert ran == []


async def test_unique_key_dedupes_while_queued_or_running(rapport):
    seen = []
    with registered(rapport, **jobs(JobDefinition("t.sync", lambda n: seen.append(n)))):
        first = await enqueue("t.sync", {"n": 1}, unique_key="sync:42")
        assert first is not None
        assert await enqueue("t.sync", {"n": 2}, unique_key="sync:42") is None
        assert await enqueue("t.sync", {"n": 3}, unique_key="sync:43") is not None
        await run_once(rapport)
        assert sorted(seen) == [1, 3]
        # Once done, the key is free again.
        assert await enqueue("t.sync", {"n": 4}, unique_key="sync:42") is not None


async def test_failing_job_backs_off_then_fails_after_max_attempts(rapport):
    calls = []

    def broken(**_: object) -> None:
        calls.append(1)
        raise Boom("provider down")

    with registered(rapport, **jobs(JobDefinition("t.broken", broken, max_attempts=3))):
        job_id = await enqueue("t.broken")
        before = utcnow()
        await run_once(rapport)
        job = await get_job(job_id)
        assert job["status"] == "queued" and job["attempts"] == 1
        assert job["run_at"] > before + dt.timedelta(seconds=1)  # backed off
        assert "provider down" in job["last_error"]
        await run_once(rapport)
        assert len(calls) == 1  # not due yet
        await make_due(job_id)
        await run_once(rapport)
        second = await get_job(job_id)
        assert second["status"] == "queued" and second["attempts"] == 2
        assert second["run_at"] - utcnow() > dt.timedelta(seconds=1)
        await make_due(job_id)
        await run_once(rapport)
    job = await get_job(job_id)
    assert (job["status"], job["attempts"], len(calls)) == ("failed", 3, 3)
    assert job["finished_at"] is not None and "Boom: provider down" in job["last_error"]


async def test_job_succeeding_after_two_failures_is_done_with_three_attempts(rapport):
    calls = []

    async def flaky(x: int) -> None:
        calls.append(x)
        if len(calls) < 3:
            raise Boom(f"try {len(calls)}")

    with registered(rapport, **jobs(JobDefinition("t.flaky", flaky))):
        job_id = await enqueue("t.flaky", {"x": 7})
        for _ in range(3):
            await make_due(job_id)
            await run_once(rapport)
    job = await get_job(job_id)
    assert (job["status"], job["attempts"], calls) == ("done", 3, [7, 7, 7])
    assert job["progress"] == 100 and job["finished_at"] is not None


async def test_expired_lock_is_requeued_and_counts_an_attempt(rapport):
    ran = []
    with registered(rapport, **jobs(JobDefinition("t.once", lambda: ran.append(1)))):
        job_id = await enqueue("t.once")
        last_try = await enqueue("t.once", max_attempts=1)
        alive = await enqueue("t.once")
        claimed = await claim("w", 5, ["t.once"], lock_seconds=-1)
        assert [(j.id, j.attempts) for j in claimed] == [(job_id, 1), (last_try, 1), (alive, 1)]
        await heartbeat("w", [alive])  # "w" still runs this one; the others' worker died
        result = await run_once(rapport)
        assert result["requeued"] == 2
        assert (await get_job(alive))["status"] == "running"
    job = await get_job(job_id)
    assert (job["status"], job["attempts"], ran) == ("done", 2, [1])
    out_of_attempts = await get_job(last_try)
    assert out_of_attempts["status"] == "failed"
    assert "lease expired" in out_of_attempts["last_error"]


async def test_concurrent_claimers_never_take_the_same_job(rapport):
    for n in range(60):
        await enqueue("t.work", {"n": n})
    taken: dict[str, list[int]] = {}

    async def claimer(name: str) -> None:
        taken[name] = []
        while batch := await claim(name, 3, ["t.work"]):
            taken[name].extend(job.id for job in batch)
            await asyncio.sleep(0)

    await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))
    ids = [job_id for batch in taken.values() for job_id in batch]
    assert len(ids) == len(set(ids)) == 60
    rows = await Job.select(Job.attempts, Job.status, Job.locked_by)
    assert {(r["attempts"], r["status"]) for r in rows} == {(1, "running")}


async def test_unknown_job_fails_with_a_clear_error(rapport):
    job_id = await enqueue("nobody.defines_this", {"a": 1})
    result = await run_once(rapport)
    assert result["unknown_jobs_failed"] == 1
    job = await get_job(job_id)
    assert job["status"] == "failed"
    assert job["last_error"] == "no installed plugin defines a job named nobody.defines_this"


async def test_job_of_a_disabled_plugin_waits_until_it_is_enabled(rapport):
    ran = []
    module = plugin_module(
        "bgjobs", register_jobs=lambda: [JobDefinition("bgjobs.run", lambda: ran.append(1))]
    )
    rapport.plugins.add(module)
    job_id = await enqueue("bgjobs.run")
    await run_once(rapport)
    job = await get_job(job_id)
    assert (job["status"], job["attempts"], ran) == ("queued", 0, [])
    await state.enable("bgjobs")
    await run_once(rapport)
    assert (await get_job(job_id))["status"] == "done" and ran == [1]


async def test_job_gets_its_args_its_id_and_reports_progress(rapport):
    seen = {}

    async def export(path: str, job_id: int) -> None:
        seen.update(path=path, job_id=job_id)
        await set_progress(job_id, 40)
        seen["progress"] = (await get_job(job_id))["progress"]

    def plain(count: int) -> None:  # synchronous: runs in a thread
        seen["count"] = count

    definitions = jobs(JobDefinition("t.export", export), JobDefinition("t.plain", plain))
    with registered(rapport, **definitions):
        job_id = await enqueue("t.export", {"path": "/tmp/x.csv"})
        await enqueue("t.plain", {"count": 3})
        await run_once(rapport)
    assert seen == {"path": "/tmp/x.csv", "job_id": job_id, "progress": 40, "count": 3}


async def test_job_running_past_its_timeout_fails_the_attempt(rapport):
    async def slow() -> None:
        await asyncio.sleep(30)

    with registered(rapport, **jobs(JobDefinition("t.slow", slow, timeout=0.05))):
        job_id = await enqueue("t.slow", max_attempts=1)
        await run_once(rapport)
    job = await get_job(job_id)
    assert job["status"] == "failed" and job["last_error"] == "timed out after 0.05s"


async def test_worker_runs_jobs_and_puts_an_interrupted_one_back_at_stop(rapport):
    done, started = [], asyncio.Event()

    async def quick(n: int) -> None:
        done.append(n)

    async def endless() -> None:
        started.set()
        await asyncio.sleep(3600)

    definitions = jobs(JobDefinition("t.quick", quick), JobDefinition("t.endless", endless))
    with registered(rapport, **definitions):
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_worker(rapport, stop=stop, name="w1", poll_interval=0.05, shutdown_grace=0.2)
        )
        for n in range(5):
            await enqueue("t.quick", {"n": n})
        await eventually(lambda: len(done) == 5)
        endless_id = await enqueue("t.endless")
        await asyncio.wait_for(started.wait(), 20)
        stop.set()
        await asyncio.wait_for(task, 20)
    assert sorted(done) == [0, 1, 2, 3, 4]
    job = await get_job(endless_id)
    assert (job["status"], job["attempts"], job["locked_by"]) == ("queued", 0, "")


# --- schedules ------------------------------------------------------------------------------

NIGHTLY = Schedule("t.nightly", "0 3 * * *", "t.tick", {"what": "expire"})


def at(hour: int, minute: int = 0, day: int = 22) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


async def _jobs_named(name: str) -> list[dict]:
    return await Job.select().where(Job.name == name).order_by(Job.id)


async def tick(rapport, now: dt.datetime) -> list[scheduler.Fired]:
    """A scheduler tick, reporting only this module's schedules (plugins may add others)."""
    fired = await scheduler.tick(rapport.plugins, now=now)
    return [f for f in fired if f.schedule.startswith("t.")]


async def test_a_due_schedule_enqueues_exactly_once_across_workers(rapport):
    with registered(rapport, register_schedules=lambda: [NIGHTLY]):
        await tick(rapport, at(12, day=21))
        assert await tick(rapport, at(2, 59)) == []
        # Two workers tick at the same moment, then again a little later.
        results = await asyncio.gather(
            tick(rapport, at(3, 0)),
            tick(rapport, at(3, 0)),
        )
        assert sorted(len(r) for r in results) == [0, 1]
        assert await tick(rapport, at(3, 1)) == []
    [job] = await _jobs_named("t.tick")
    assert job["unique_key"] == f"schedule:t.nightly:{at(3).isoformat()}"
    assert job["args"] in ({"what": "expire"}, '{"what": "expire"}')


async def test_a_run_missed_while_no_worker_was_up_fires_once(rapport):
    hourly = Schedule("t.hourly", "0 * * * *", "t.tick")
    with registered(rapport, register_schedules=lambda: [hourly]):
        assert await tick(rapport, at(9, 30)) == []  # first sight: no run for the past
        row = await ScheduleState.select().where(ScheduleState.name == "t.hourly").first()
        assert row["last_run_at"] == at(9, 30)
        [fired] = await tick(rapport, at(15, 20))  # 10:00…15:00 missed
        assert fired.fire_time == at(15)
        assert await tick(rapport, at(15, 59)) == []
        [later] = await tick(rapport, at(16, 0))
        assert later.fire_time == at(16)
    assert len(await _jobs_named("t.tick")) == 2


async def test_worker_passes_run_scheduled_jobs(rapport):
    ran = []
    minutely = Schedule("t.minutely", "* * * * *", "t.tick", {"n": 1})
    hooks = {
        "register_schedules": lambda: [minutely],
        **jobs(JobDefinition("t.tick", lambda n: ran.append(n))),
    }
    with registered(rapport, **hooks):
        await run_once(rapport)  # first sight: recorded, not fired
        assert ran == [] and await _jobs_named("t.tick") == []
        await ScheduleState.update(
            {ScheduleState.last_run_at: utcnow() - dt.timedelta(minutes=5)}
        ).where(ScheduleState.name == "t.minutely")
        await run_once(rapport)
        await run_once(rapport)
    assert ran == [1]
    [job] = await _jobs_named("t.tick")
    assert job["status"] == "done"


# --- services -------------------------------------------------------------------------------


async def test_a_crashing_service_is_restarted_with_backoff_and_cancelled_at_stop(
    rapport, monkeypatch
):
    monkeypatch.setattr(services, "RESTART_BASE", 0.01)
    runs, cancelled = [], asyncio.Event()

    async def listener() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise Boom("connection refused")
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    with registered(rapport, register_services=lambda: [Service("ami", listener)]):
        supervisor = services.ServiceSupervisor(rapport.plugins)
        supervisor.sync()
        await eventually(lambda: len(runs) == 3)
        assert not supervisor.tasks[("test.bg", "ami")].done()
        await supervisor.stop()
    assert cancelled.is_set() and len(runs) == 3
