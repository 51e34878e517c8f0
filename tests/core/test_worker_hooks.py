"""The worker's hooks: ``register_jobs``, ``register_schedules``, ``register_services`` and
``register_event_consumers``, each shown doing what its docstring promises."""

from __future__ import annotations

import asyncio
import datetime as dt

from background_kit import eventually, plugin_module, registered, utcnow
from rapport.events.bus import publish
from rapport.events.consumers import Consumer
from rapport.events.core_events import ContactCreated
from rapport.jobs.definitions import JobDefinition, Schedule, Service
from rapport.jobs.queue import enqueue, get_job
from rapport.jobs.tables import Job, ScheduleState
from rapport.jobs.worker import run_once, run_worker
from rapport.plugins import state


async def test_hook_register_jobs(rapport):
    greeted = []

    async def greet(name: str) -> None:
        greeted.append(name)

    definition = JobDefinition("hooks.greet", greet, max_attempts=2)
    with registered(rapport, register_jobs=lambda: [definition]):
        job_id = await enqueue("hooks.greet", {"name": "Anna"})
        assert (await get_job(job_id))["max_attempts"] == 2  # the definition's default
        await run_once(rapport)
    assert greeted == ["Anna"]
    assert (await get_job(job_id))["status"] == "done"


async def _backdate(schedule: str) -> None:
    await ScheduleState.update(
        {ScheduleState.last_run_at: utcnow() - dt.timedelta(minutes=3)}
    ).where(ScheduleState.name == schedule)


async def test_hook_register_schedules(rapport):
    ticks = []
    module = plugin_module(
        "bgsched",
        register_schedules=lambda: [Schedule("bgsched.minutely", "* * * * *", "bgsched.tick")],
        register_jobs=lambda: [JobDefinition("bgsched.tick", lambda: ticks.append(1))],
    )
    rapport.plugins.add(module)
    await state.enable("bgsched")
    await run_once(rapport)  # first sight: recorded, not fired
    await _backdate("bgsched.minutely")
    await run_once(rapport)
    assert ticks == [1]
    await state.disable("bgsched")
    await _backdate("bgsched.minutely")
    await run_once(rapport)  # a disabled plugin's schedule does not fire
    assert ticks == [1]
    assert await Job.count().where(Job.name == "bgsched.tick") == 1


async def test_hook_register_services(rapport):
    starts, stops = [], []

    async def listen() -> None:
        starts.append(1)
        try:
            await asyncio.sleep(3600)
        finally:
            stops.append(1)

    module = plugin_module("bgsvc", register_services=lambda: [Service("listener", listen)])
    rapport.plugins.add(module)
    await state.enable("bgsvc")
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(rapport, stop=stop, poll_interval=0.05))
    try:
        await eventually(lambda: len(starts) == 1)
        await state.disable("bgsvc")
        await eventually(lambda: len(stops) == 1)  # stopped with its plugin
        await state.enable("bgsvc")
        await eventually(lambda: len(starts) == 2)  # started again, no restart of the worker
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)
    assert (len(starts), len(stops)) == (2, 2)  # cancelled when the worker stops


async def test_hook_register_event_consumers(rapport):
    received = []

    async def handle(event, meta) -> None:
        received.append((event.name, meta.key))

    consumer = Consumer("hooks.mirror", handle, types=("contact.created",))
    with registered(rapport, register_event_consumers=lambda: [consumer]):
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(rapport, stop=stop, poll_interval=0.05))
        try:
            await publish(ContactCreated(contact_id=3, kind="person", name="Boris"))
            await eventually(lambda: received)
        finally:
            stop.set()
            await asyncio.wait_for(worker, 20)
    assert received == [("Boris", "contact:3")]
