"""The background worker: jobs, schedules, plugin services and outbox delivery.

One worker runs inside ``rapport serve`` (a single web process) or as ``rapport worker``;
several may run against one database. The main loop re-reads the enabled plugins, starts and
stops their services to match, ticks the scheduler, requeues jobs of dead workers, renews the
leases of its own jobs and claims due jobs up to ``concurrency``; outbox delivery runs beside
it in its own loop, so a slow consumer does not delay jobs. When ``stop`` is set, running jobs
get a grace period, then are cancelled and put back in the queue without losing an attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
import traceback
from collections import Counter
from typing import Any

from rapport.events.delivery import Delivery, default_worker_name, deliver_all
from rapport.jobs import scheduler
from rapport.jobs.definitions import JobDefinition
from rapport.jobs.queue import (
    ERROR_LIMIT,
    LOCK_SECONDS,
    ClaimedJob,
    claim,
    complete,
    fail,
    fail_unknown,
    heartbeat,
    installed_job_names,
    job_definitions,
    release,
    requeue_expired,
)
from rapport.jobs.services import ServiceSupervisor
from rapport.plugins.state import sync as sync_plugins
from rapport.settings_store import refresh as refresh_settings

log = logging.getLogger("rapport.jobs.worker")

SCHEDULER_INTERVAL = 1.0  # seconds between scheduler ticks
MAINTENANCE_INTERVAL = 5.0  # seconds between sweeps for expired leases and unknown jobs
SHUTDOWN_GRACE = 10.0  # seconds running jobs may finish in after stop is set
ERROR_PAUSE_CAP = 30.0  # longest pause after repeated failures (the database is down…)
ONCE_JOB_LIMIT = 1000  # jobs one run_once may run


def _accepts_job_id(func: Any) -> bool:
    try:
        return "job_id" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _is_async(func: Any) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


async def _call(definition: JobDefinition, job: ClaimedJob) -> None:
    """Call the job's function with its args (and ``job_id`` if it takes one), timed out.

    A synchronous function runs in a thread so it does not stall the worker's loop; a thread
    cannot be interrupted, so after a time-out it runs on while the job is already marked.
    """
    kwargs = dict(job.args)
    if _accepts_job_id(definition.func):
        kwargs["job_id"] = job.id
    async with asyncio.timeout(definition.timeout):
        if _is_async(definition.func):
            await definition.func(**kwargs)
            return
        result = await asyncio.to_thread(definition.func, **kwargs)
        if inspect.isawaitable(result):
            await result


def _error_text(exc: BaseException, definition: JobDefinition) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {definition.timeout:g}s"
    return "".join(traceback.format_exception(exc, limit=-10))[-ERROR_LIMIT:]


async def execute_job(definition: JobDefinition | None, job: ClaimedJob, worker: str) -> str:
    """Run one claimed job and record how it went.

    Returns ``done``, ``queued`` (failed, will be retried), ``failed`` (out of attempts),
    ``released`` (its plugin went away between claim and run) or ``lost`` (this worker's
    lease had expired and another worker owns the job now).
    """
    if definition is None:
        await release(worker, [job.id])
        return "released"
    try:
        await _call(definition, job)
    except Exception as exc:  # noqa: BLE001 - whatever a job raises is a failed attempt
        error = _error_text(exc, definition)
        status = await fail(job, worker, error)
        summary = error.strip().splitlines()[-1] if error.strip() else error
        if status == "failed":
            log.error(
                "job %s #%s failed for good after %s attempts: %s",
                job.name,
                job.id,
                job.attempts,
                summary,
            )
        else:
            log.warning(
                "job %s #%s failed (attempt %s of %s): %s",
                job.name,
                job.id,
                job.attempts,
                job.max_attempts,
                summary,
            )
        return status or "lost"
    return "done" if await complete(job, worker) else "lost"


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Sleep until ``stop`` or ``wake`` is set, or ``seconds`` pass."""
    waiters = {asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())}
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class Worker:
    """The state of one running worker: its name, its jobs, services and delivery leases."""

    def __init__(
        self,
        runtime: Any,
        *,
        name: str | None = None,
        concurrency: int = 2,
        poll_interval: float = 0.5,
        shutdown_grace: float = SHUTDOWN_GRACE,
    ) -> None:
        self.runtime = runtime
        self.name = name or default_worker_name()
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        self.shutdown_grace = shutdown_grace
        self.delivery = Delivery(self.name)
        self.services = ServiceSupervisor(runtime.plugins)
        self.running: dict[int, asyncio.Task[str]] = {}
        self._wake = asyncio.Event()
        self._next_schedule = 0.0
        self._next_maintenance = 0.0
        self._next_heartbeat = 0.0
        self._next_lease_renewal = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker %s started (concurrency %s)", self.name, self.concurrency)
        delivery = asyncio.create_task(self._delivery_loop(stop), name="rapport-delivery")
        try:
            await self._main_loop(stop)
        finally:
            await self._shutdown(delivery)
            log.info("worker %s stopped", self.name)

    async def _main_loop(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            pause = self.poll_interval
            try:
                await self._tick()
                failures = 0
            except Exception:
                failures += 1
                pause = min(ERROR_PAUSE_CAP, self.poll_interval * 2**failures)
                log.exception("worker tick failed; next try in %.1fs", pause)
            await _wait_any(stop, self._wake, pause)

    async def _tick(self) -> None:
        self._wake.clear()
        registry = self.runtime.plugins
        await sync_plugins()
        await refresh_settings()  # admins' run-time settings, as the web process sees them
        self.services.sync()
        now = time.monotonic()
        if now >= self._next_schedule:
            self._next_schedule = now + SCHEDULER_INTERVAL
            await scheduler.tick(registry)
        if now >= self._next_maintenance:
            self._next_maintenance = now + MAINTENANCE_INTERVAL
            await requeue_expired()
            await fail_unknown(sorted(installed_job_names(registry)))
        if self.running and now >= self._next_heartbeat:
            self._next_heartbeat = now + LOCK_SECONDS / 3
            await heartbeat(self.name, sorted(self.running))
        if now >= self._next_lease_renewal:
            self._next_lease_renewal = now + self.delivery.options.lease_seconds / 3
            await self.delivery.heartbeat()
        await self._claim_and_start()

    async def _claim_and_start(self) -> None:
        free = self.concurrency - len(self.running)
        if free <= 0:
            return
        definitions = job_definitions(self.runtime.plugins)
        for job in await claim(self.name, free, sorted(definitions)):
            task = asyncio.create_task(
                execute_job(definitions.get(job.name), job, self.name),
                name=f"rapport-job:{job.name}:{job.id}",
            )
            self.running[job.id] = task
            task.add_done_callback(functools.partial(self._job_finished, job))

    def _job_finished(self, job: ClaimedJob, task: asyncio.Task[str]) -> None:
        self.running.pop(job.id, None)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            # Recording the outcome failed (database gone): the lease expires, it reruns.
            log.error(
                "job %s #%s: could not record its outcome: %r", job.name, job.id, task.exception()
            )

    async def _delivery_loop(self, stop: asyncio.Event) -> None:
        failures = 0
        idle = asyncio.Event()  # never set: delivery wakes on its timer or on stop
        while not stop.is_set():
            pause = self.poll_interval
            try:
                stats = await self.delivery.run_pass(
                    self.runtime.plugins, patience=self.delivery.options.budget + 1.0
                )
                failures = 0
                if stats.progressed:
                    pause = 0.0
            except Exception:
                failures += 1
                pause = min(ERROR_PAUSE_CAP, self.poll_interval * 2**failures)
                log.exception("outbox delivery failed; next try in %.1fs", pause)
            if pause:
                await _wait_any(stop, idle, pause)
            else:
                await asyncio.sleep(0)

    async def _shutdown(self, delivery: asyncio.Task[None]) -> None:
        await self.services.stop()
        pending: set[asyncio.Task[Any]] = {delivery, *self.running.values()}
        _, late = await asyncio.wait(pending, timeout=self.shutdown_grace)
        interrupted = [job_id for job_id, task in self.running.items() if task in late]
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
        try:
            if interrupted:
                count = await release(self.name, interrupted)
                log.warning("put %s interrupted job(s) back in the queue", count)
            await self.delivery.stop_turns()
            await self.delivery.release_leases()
        except Exception:
            log.exception("could not release this worker's jobs and leases; they expire")


async def run_worker(
    runtime: Any,
    *,
    stop: asyncio.Event,
    name: str | None = None,
    concurrency: int = 2,
    poll_interval: float = 0.5,
    shutdown_grace: float = SHUTDOWN_GRACE,
) -> None:
    """Run jobs, schedules, services and outbox delivery until ``stop`` is set."""
    worker = Worker(
        runtime,
        name=name,
        concurrency=concurrency,
        poll_interval=poll_interval,
        shutdown_grace=shutdown_grace,
    )
    await worker.run(stop)


async def run_once(runtime: Any, name: str = "test") -> dict[str, Any]:
    """One pass of everything but services, in order, awaited to the end.

    Fires due schedules, requeues jobs of dead workers, fails jobs no plugin defines, runs
    every due job one after another (also those the jobs enqueue, up to a limit) and delivers
    the outbox until every consumer is caught up. Returns counts of what happened.
    """
    registry = runtime.plugins
    await sync_plugins(force=True)
    fired = await scheduler.tick(registry)
    requeued = await requeue_expired()
    unknown = await fail_unknown(sorted(installed_job_names(registry)))
    outcomes: Counter[str] = Counter()
    while sum(outcomes.values()) < ONCE_JOB_LIMIT:
        definitions = job_definitions(registry)
        jobs = await claim(name, 10, sorted(definitions))
        if not jobs:
            break
        for job in jobs:
            outcomes[await execute_job(definitions.get(job.name), job, name)] += 1
    delivery = Delivery(name)
    try:
        stats = await deliver_all(registry, delivery)
    finally:
        with contextlib.suppress(Exception):
            await delivery.release_leases()
    return {
        "scheduled": len(fired),
        "requeued": requeued,
        "unknown_jobs_failed": unknown,
        "jobs": dict(outcomes),
        "delivered": stats.delivered,
        "delivery_failed": stats.failed,
        "dead_letters": stats.dead,
    }
