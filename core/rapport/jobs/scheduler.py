"""Cron schedules that enqueue jobs, safe with any number of workers.

Each schedule's last fire time lives in ``rapport_schedule``. A tick fires a schedule when its
next fire time after ``last_run_at`` has come: in one transaction it moves ``last_run_at``
forward with a compare-and-set and enqueues the job under the unique key
``schedule:<name>:<fire time>``, so two workers ticking at once enqueue one run. A schedule
seen for the first time starts from now (it does not fire for the past), and after the
worker was down it fires once for the latest missed slot, not once per missed slot.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from croniter import croniter

from rapport.db.transaction import transaction
from rapport.jobs.definitions import Schedule
from rapport.jobs.queue import as_datetime, enqueue, utcnow
from rapport.jobs.tables import ScheduleState

log = logging.getLogger("rapport.jobs.scheduler")


@dataclass(frozen=True)
class Fired:
    """A schedule that fired on this tick; ``job_id`` is None if the run was queued already."""

    schedule: str
    fire_time: dt.datetime
    job_id: int | None


def schedules(registry: Any) -> list[Schedule]:
    """The enabled plugins' schedules, the first of each name (a duplicate is logged)."""
    found: dict[str, Schedule] = {}
    for item in registry.collect("register_schedules"):
        if item.name in found:
            log.error("schedule %r is declared twice; the second is ignored", item.name)
            continue
        if not croniter.is_valid(item.cron):
            log.error("schedule %r has an invalid cron expression %r", item.name, item.cron)
            continue
        found[item.name] = item
    return list(found.values())


def latest_fire_time(cron: str, now: dt.datetime) -> dt.datetime:
    """The last time ``cron`` matched at or before ``now``."""
    previous: dt.datetime = croniter(cron, now).get_prev(dt.datetime)
    following: dt.datetime = croniter(cron, previous).get_next(dt.datetime)
    return following if following <= now else previous


def due_fire_time(cron: str, last_run_at: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """The slot to fire now, or None: the latest slot if any came after ``last_run_at``."""
    upcoming: dt.datetime = croniter(cron, last_run_at).get_next(dt.datetime)
    if upcoming > now:
        return None
    return latest_fire_time(cron, now)


async def tick(registry: Any, *, now: dt.datetime | None = None) -> list[Fired]:
    """Fire every schedule that is due; record first sightings."""
    now = now or utcnow()
    items = schedules(registry)
    if not items:
        return []
    rows = await ScheduleState.select(ScheduleState.name, ScheduleState.last_run_at)
    last_runs = {r["name"]: as_datetime(r["last_run_at"]) for r in rows}
    fired: list[Fired] = []
    for schedule in items:
        if schedule.name not in last_runs:
            await _first_sight(schedule.name, now)
            continue
        last = last_runs[schedule.name] or now
        fire_time = due_fire_time(schedule.cron, last, now)
        if fire_time is not None:
            result = await _fire(schedule, fire_time)
            if result is not None:
                fired.append(result)
    return fired


async def _first_sight(name: str, now: dt.datetime) -> None:
    await ScheduleState.raw(
        "INSERT INTO rapport_schedule (name, last_run_at) VALUES ({}, {}) ON CONFLICT DO NOTHING",
        name,
        now,
    )


async def _fire(schedule: Schedule, fire_time: dt.datetime) -> Fired | None:
    """Move ``last_run_at`` to ``fire_time`` and enqueue, unless another worker did first."""
    async with transaction():
        moved = await ScheduleState.raw(
            "UPDATE rapport_schedule SET last_run_at = {} WHERE name = {}"
            " AND (last_run_at IS NULL OR last_run_at < {}) RETURNING id",
            fire_time,
            schedule.name,
            fire_time,
        )
        if not moved:
            return None
        job_id = await enqueue(
            schedule.job,
            schedule.args,
            unique_key=f"schedule:{schedule.name}:{fire_time.isoformat()}",
        )
    log.info("schedule %r fired for %s (job %s)", schedule.name, fire_time.isoformat(), job_id)
    return Fired(schedule.name, fire_time, job_id)
