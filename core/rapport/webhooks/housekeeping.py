"""Keeping the webhook attempt log to a useful size: attempts older than 30 days go, daily."""

from __future__ import annotations

import datetime as dt

from rapport.jobs.definitions import JobDefinition, Schedule
from rapport.webhooks.tables import WebhookAttempt

LOG_RETENTION = dt.timedelta(days=30)
JOB_NAME = "rapport.webhooks.prune_log"


async def prune_attempt_log(now: dt.datetime | None = None) -> int:
    """Delete attempts older than :data:`LOG_RETENTION`; return how many went."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - LOG_RETENTION
    rows = await WebhookAttempt.raw(
        "DELETE FROM rapport_webhook_attempt WHERE attempted_at < {} RETURNING id", cutoff
    )
    return len(rows)


def webhook_jobs() -> list[JobDefinition]:
    return [JobDefinition(name=JOB_NAME, func=prune_attempt_log, max_attempts=3, timeout=300.0)]


def webhook_schedules() -> list[Schedule]:
    return [Schedule(name=JOB_NAME, cron="17 3 * * *", job=JOB_NAME)]
