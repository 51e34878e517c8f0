"""Reminders of tasks coming due, pushed live to the assignee's open pages.

A scheduled job runs every minute, finds open tasks due within the next
:data:`LEAD` (or due a moment ago, so a worker restart does not swallow them) and sends each
assignee a notification linking to the contact's card. A task is reminded once per due time:
the task's payload records ``reminded_at`` and the due time it was for
(``reminded_due_at``), so moving a task to a later time earns it a new reminder.

Each task is claimed in its own write transaction (``SELECT … FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite) before its notification goes out, so two workers running the
job at once never remind twice. A reminder lost because nobody's page was open is not
retried: the task itself is on the user's "My day" page.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from typing import Any

from babel.dates import format_timedelta

from rapport.activities.calendar_feed import summary
from rapport.activities.tables import Activity
from rapport.db.current import current_engine
from rapport.db.transaction import transaction
from rapport.jobs.definitions import JobDefinition, Schedule

log = logging.getLogger(__name__)

JOB_NAME = "core.task_reminders"
LEAD = dt.timedelta(minutes=15)
LOOKBACK = dt.timedelta(minutes=5)
CRON = "* * * * *"
# Whole seconds (1-59) between runs, when once a minute is too slow (the browser tests use 2).
INTERVAL_ENV = "RAPPORT_REMINDER_INTERVAL_SECONDS"
BATCH = 500  # tasks looked at per run; more are picked up by the next run


async def send_due_reminders(now: str | dt.datetime | None = None) -> int:
    """Remind assignees of their tasks due soon; return how many reminders were sent.

    ``now`` (an ISO string when it comes from a job's JSON arguments) is for tests.
    """
    moment = _moment(now)
    sent = 0
    for task in await due_tasks(moment):
        if await _claim(task, moment):
            await _notify(task, moment)
            sent += 1
    if sent:
        log.info("sent %d task reminder(s)", sent)
    return sent


def _moment(now: str | dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    moment = dt.datetime.fromisoformat(now) if isinstance(now, str) else now
    if moment.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return moment.astimezone(dt.UTC)


async def due_tasks(now: dt.datetime) -> list[dict[str, Any]]:
    """Open, assigned tasks due in (now - LOOKBACK, now + LEAD] not yet reminded for their
    current due time."""
    rows = await (
        Activity.select(
            Activity.id,
            Activity.body,
            Activity.due_at,
            Activity.payload,
            Activity.contact,
            Activity.assignee,
            Activity.contact.name.as_alias("contact_name"),
        )
        .where(
            Activity.done_at.is_null()
            & Activity.assignee.is_not_null()
            & (Activity.due_at > now - LOOKBACK)
            & (Activity.due_at <= now + LEAD)
        )
        .order_by(Activity.due_at, Activity.id)
        .limit(BATCH)
        .output(load_json=True)
    )
    return [row for row in rows if not _reminded(row["payload"], row["due_at"])]


def _reminded(payload: Any, due_at: dt.datetime) -> bool:
    if not isinstance(payload, dict) or not payload.get("reminded_at"):
        return False
    return payload.get("reminded_due_at") == _stamp(due_at)


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


async def _claim(task: dict[str, Any], now: dt.datetime) -> bool:
    """Mark the task reminded unless another run did; True when this run owns the reminder."""
    async with transaction():
        query = Activity.select(Activity.payload, Activity.due_at, Activity.done_at).where(
            Activity.id == task["id"]
        )
        if current_engine().engine_type != "sqlite":
            query = query.lock_rows("UPDATE")
        row = await query.first().output(load_json=True)
        if row is None or row["done_at"] is not None or _reminded(row["payload"], row["due_at"]):
            return False
        payload = row["payload"] if isinstance(row["payload"], dict) else {}
        payload.update(reminded_at=_stamp(now), reminded_due_at=_stamp(row["due_at"]))
        await Activity.update({Activity.payload: json.dumps(payload)}).where(
            Activity.id == task["id"]
        )
    return True


async def _notify(task: dict[str, Any], now: dt.datetime) -> None:
    from rapport.web.i18n import gettext as _
    from rapport.web.i18n import locale
    from rapport.web.live import notify_user, speaking, user_language

    user_id = int(task["assignee"])
    with speaking(await user_language(user_id)):
        when = format_timedelta(
            task["due_at"] - now, granularity="minute", add_direction=True, locale=locale()
        )
        title = summary(task["body"], _("Task"))
        if task["contact_name"]:
            body = _("%(contact)s — due %(when)s", contact=task["contact_name"], when=when)
        else:
            body = _("Due %(when)s", when=when)
    await notify_user(user_id, title, body, url=f"/contacts/{task['contact']}")


def interval_seconds() -> int | None:
    """The configured run interval when it is shorter than the cron minute, else None."""
    raw = os.environ.get(INTERVAL_ENV, "").strip()
    if not raw:
        return None
    try:
        seconds = int(raw)
    except ValueError:
        log.warning("%s=%r is not whole seconds; reminders run every minute", INTERVAL_ENV, raw)
        return None
    return seconds if 0 < seconds < 60 else None


def reminder_cron() -> str:
    """Every minute; or every N seconds (croniter's optional sixth field) when configured."""
    seconds = interval_seconds()
    return CRON if seconds is None else f"* * * * * */{seconds}"


def reminder_jobs() -> list[JobDefinition]:
    # One attempt: a retry minutes later would remind too late to help.
    return [JobDefinition(name=JOB_NAME, func=send_due_reminders, max_attempts=1, timeout=55.0)]


def reminder_schedules() -> list[Schedule]:
    return [Schedule(name=JOB_NAME, cron=reminder_cron(), job=JOB_NAME)]
