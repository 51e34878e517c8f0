"""The periodic sweep: submissions left ``received`` for too long are queued again.

A submission is processed when the worker's consumer gets its ``form.received`` event. The
outbox retries that event while the database is unavailable, but gives up after the
consumer's ``max_attempts`` (about an hour of back-off); a submission whose event was given
up on would wait forever. The sweep publishes a fresh ``form.received`` for every
submission still ``received`` after :data:`STUCK_AFTER_MINUTES`. Processing skips a
submission that is no longer ``received``, so an event queued twice does no harm.
"""

from __future__ import annotations

import datetime as dt
import logging

from rapport.api import JobDefinition, Schedule, Statement, publish, transaction

from rapport_webforms.events import SubmissionReceived

log = logging.getLogger(__name__)

JOB = "webforms.requeue_stuck"
STUCK_AFTER_MINUTES = 90  # past the consumer's retries: 50 attempts, back-off capped at 60 s
LIMIT = 1000  # per run; the next run takes the rest

_STUCK = Statement(
    "SELECT id, form_id FROM webforms_submission"
    " WHERE status = 'received' AND received_at < {} ORDER BY id LIMIT {}"
)


async def requeue_stuck(older_than_minutes: float = STUCK_AFTER_MINUTES) -> int:
    """Publish ``form.received`` again for submissions waiting longer than
    ``older_than_minutes``; how many were queued."""
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=older_than_minutes)
    async with transaction():
        stuck = await _STUCK.fetch(before, LIMIT)
        for row in stuck:
            await publish(
                SubmissionReceived(submission_id=int(row["id"]), form_id=int(row["form_id"]))
            )
    if stuck:
        log.warning("webforms: %d submissions were still waiting; queued again", len(stuck))
    return len(stuck)


JOBS = [JobDefinition(JOB, requeue_stuck)]
SCHEDULES = [Schedule("webforms.sweep", "*/10 * * * *", JOB)]
