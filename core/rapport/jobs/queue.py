"""Durable jobs kept in the database, claimed with row locks: no broker to run.

A job is a ``rapport_job`` row. :func:`enqueue` writes it in the caller's transaction, so a
job asked for by a change that rolls back never runs. Workers claim due rows (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL; on SQLite the claim runs in a ``BEGIN IMMEDIATE`` transaction,
which serialises writers) and hold them under a lease they renew while the job runs; a row
whose lease ran out belongs to a worker that died and goes back to the queue.

States: ``queued`` → ``running`` → ``done``, or back to ``queued`` with a later ``run_at``
after a failure (exponential back-off with jitter), or ``failed`` once ``max_attempts`` runs
have failed. A job whose name no installed plugin defines is failed at once; a job whose
plugin is installed but disabled stays queued, untouched, until the plugin is enabled again.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapport.db.current import is_sqlite
from rapport.db.transaction import transaction
from rapport.jobs.definitions import JobDefinition
from rapport.jobs.tables import Job

DEFAULT_MAX_ATTEMPTS = 5
LOCK_SECONDS = 60.0  # a claim's lease; the worker renews it while the job runs
BACKOFF_BASE = 5.0  # seconds before the first retry; doubles per failed attempt
BACKOFF_CAP = 3600.0
ERROR_LIMIT = 4000  # characters of traceback kept in last_error

_RETURNING = "id, name, args, attempts, max_attempts, run_at"


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds the lease of."""

    id: int
    name: str
    args: dict[str, Any]
    attempts: int
    max_attempts: int


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def backoff_delay(attempts: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after the ``attempts``-th failure: doubling, capped, with jitter.

    The jitter (a random 50–100 % of the delay) keeps jobs that failed together, against a
    provider that was down, from all coming back at the same second.
    """
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.5, 1.0)


def in_list(column: str, values: Sequence[Any], *, negate: bool = False) -> tuple[str, list[Any]]:
    """An ``IN`` test written the way each engine takes a list parameter."""
    if is_sqlite():
        placeholders = ", ".join("{}" for _ in values)
        return f"{column} {'NOT IN' if negate else 'IN'} ({placeholders})", list(values)
    test = f"{column} = ANY({{}})"
    return (f"NOT ({test})" if negate else test), [list(values)]


def as_datetime(value: Any) -> dt.datetime | None:
    """Timestamps come back as text from SQLite expressions and RETURNING clauses."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def job_definitions(registry: Any) -> dict[str, JobDefinition]:
    """The jobs the enabled plugins define, by name (the first definition of a name wins)."""
    found: dict[str, JobDefinition] = {}
    for definition in registry.collect("register_jobs"):
        found.setdefault(definition.name, definition)
    return found


def installed_job_names(registry: Any) -> set[str]:
    """Names defined by any installed plugin, enabled or not, and by what is registered now."""
    names = set(job_definitions(registry))
    for definition in registry.collect_from(registry.all_modules(), "register_jobs"):
        names.add(definition.name)
    return names


def _default_max_attempts(name: str) -> int:
    from rapport.runtime import current

    definition = job_definitions(current().plugins).get(name)
    return definition.max_attempts if definition else DEFAULT_MAX_ATTEMPTS


async def enqueue(
    name: str,
    args: dict[str, Any] | None = None,
    *,
    run_at: dt.datetime | None = None,
    unique_key: str | None = None,
    max_attempts: int | None = None,
) -> int | None:
    """Queue job ``name`` with JSON ``args``; return its id, or None if ``unique_key`` is taken.

    The row is written in the open transaction when there is one, so it exists only if that
    transaction commits. ``unique_key`` dedupes against jobs with the same key that are still
    queued or running (a partial unique index enforces it, also across processes).
    ``max_attempts`` defaults to the job definition's.
    """
    if not name:
        raise ValueError("enqueue: a job needs a name")
    if run_at is not None and run_at.tzinfo is None:
        raise ValueError("enqueue: run_at must be timezone-aware")
    payload = json.dumps(args or {})  # fails here, not in the worker, on non-JSON args
    now = utcnow()
    attempts = max_attempts if max_attempts is not None else _default_max_attempts(name)
    async with transaction():
        rows = await Job.raw(
            "INSERT INTO rapport_job (name, args, status, attempts, max_attempts, run_at,"
            " locked_by, locked_until, progress, last_error, unique_key, created_at,"
            " finished_at) VALUES ({}, {}, 'queued', 0, {}, {}, '', NULL, 0, '', {}, {}, NULL)"
            " ON CONFLICT DO NOTHING RETURNING id",
            name,
            payload,
            attempts,
            run_at or now,
            unique_key,
            now,
        )
    return rows[0]["id"] if rows else None


async def set_progress(job_id: int, percent: int) -> None:
    """Record how far a running job is (0–100), for pages that show a progress bar.

    Written at once when called outside a transaction; inside one, it shows on commit.
    """
    percent = max(0, min(100, int(percent)))
    await Job.raw("UPDATE rapport_job SET progress = {} WHERE id = {}", percent, job_id)


async def get_job(job_id: int) -> dict[str, Any] | None:
    """A job's row (args decoded), or None."""
    row = await Job.select().where(Job.id == job_id).first()
    if row is not None:
        row["args"] = _loads(row["args"])
    return row


async def claim(
    worker: str,
    limit: int,
    names: Sequence[str],
    *,
    now: dt.datetime | None = None,
    lock_seconds: float = LOCK_SECONDS,
) -> list[ClaimedJob]:
    """Take up to ``limit`` due jobs among ``names`` for ``worker``; each claim is an attempt.

    Two workers never take the same row: PostgreSQL skips rows another claim has locked,
    SQLite lets one writer at a time in.
    """
    if limit <= 0 or not names:
        return []
    now = now or utcnow()
    name_test, name_args = in_list("name", names)
    skip_locked = "" if is_sqlite() else " FOR UPDATE SKIP LOCKED"
    sql = (
        "UPDATE rapport_job SET status = 'running', locked_by = {}, locked_until = {},"
        " attempts = attempts + 1 WHERE id IN (SELECT id FROM rapport_job"
        f" WHERE status = 'queued' AND run_at <= {{}} AND {name_test}"
        f" ORDER BY run_at, id LIMIT {{}}{skip_locked}) RETURNING {_RETURNING}"
    )
    lease = now + dt.timedelta(seconds=lock_seconds)
    async with transaction():
        rows = await Job.raw(sql, worker, lease, now, *name_args, limit)
    rows.sort(key=lambda r: (as_datetime(r["run_at"]), r["id"]))
    return [
        ClaimedJob(r["id"], r["name"], _loads(r["args"]) or {}, r["attempts"], r["max_attempts"])
        for r in rows
    ]


async def complete(job: ClaimedJob, worker: str, *, now: dt.datetime | None = None) -> bool:
    """Mark a job done; False if this worker had lost it (its lease ran out meanwhile)."""
    rows = await Job.raw(
        "UPDATE rapport_job SET status = 'done', finished_at = {}, progress = 100,"
        " locked_by = '', locked_until = NULL"
        " WHERE id = {} AND locked_by = {} AND status = 'running' RETURNING id",
        now or utcnow(),
        job.id,
        worker,
    )
    return bool(rows)


async def fail(
    job: ClaimedJob, worker: str, error: str, *, now: dt.datetime | None = None
) -> str | None:
    """Record a failed attempt: back to ``queued`` after a back-off, or ``failed`` for good.

    Returns the new status, or None if this worker had lost the job.
    """
    now = now or utcnow()
    error = error[-ERROR_LIMIT:]
    if job.attempts < job.max_attempts:
        run_at = now + dt.timedelta(seconds=backoff_delay(job.attempts))
        rows = await Job.raw(
            "UPDATE rapport_job SET status = 'queued', run_at = {}, last_error = {},"
            " locked_by = '', locked_until = NULL"
            " WHERE id = {} AND locked_by = {} AND status = 'running' RETURNING id",
            run_at,
            error,
            job.id,
            worker,
        )
        return "queued" if rows else None
    rows = await Job.raw(
        "UPDATE rapport_job SET status = 'failed', finished_at = {}, last_error = {},"
        " locked_by = '', locked_until = NULL"
        " WHERE id = {} AND locked_by = {} AND status = 'running' RETURNING id",
        now,
        error,
        job.id,
        worker,
    )
    return "failed" if rows else None


async def requeue_expired(*, now: dt.datetime | None = None) -> int:
    """Give back jobs whose worker stopped renewing its lease (it died or hung).

    The dead run counted as an attempt when it was claimed; a job out of attempts fails.
    """
    now = now or utcnow()
    error = "the worker running this job stopped (its lease expired)"
    async with transaction():
        failed = await Job.raw(
            "UPDATE rapport_job SET status = 'failed', finished_at = {}, last_error = {},"
            " locked_by = '', locked_until = NULL WHERE status = 'running'"
            " AND locked_until < {} AND attempts >= max_attempts RETURNING id",
            now,
            error,
            now,
        )
        requeued = await Job.raw(
            "UPDATE rapport_job SET status = 'queued', last_error = {},"
            " locked_by = '', locked_until = NULL"
            " WHERE status = 'running' AND locked_until < {} RETURNING id",
            error,
            now,
        )
    return len(failed) + len(requeued)


async def fail_unknown(known: Sequence[str], *, now: dt.datetime | None = None) -> int:
    """Fail due jobs whose name no installed plugin defines, saying so in ``last_error``.

    Jobs of installed but disabled plugins are in ``known`` and so stay queued.
    """
    now = now or utcnow()
    name_test, name_args = in_list("name", known, negate=True)
    rows = await Job.raw(
        "UPDATE rapport_job SET status = 'failed', finished_at = {},"
        " last_error = 'no installed plugin defines a job named ' || name"
        f" WHERE status = 'queued' AND run_at <= {{}} AND {name_test} RETURNING id",
        now,
        now,
        *name_args,
    )
    return len(rows)


async def heartbeat(
    worker: str,
    job_ids: Sequence[int],
    *,
    now: dt.datetime | None = None,
    lock_seconds: float = LOCK_SECONDS,
) -> None:
    """Renew the leases of the jobs ``worker`` is still running.

    Only the ids given: a job whose task ended without recording its outcome is left to
    expire and be requeued, not kept alive forever.
    """
    if not job_ids:
        return
    now = now or utcnow()
    id_test, id_args = in_list("id", job_ids)
    await Job.raw(
        "UPDATE rapport_job SET locked_until = {}"
        f" WHERE locked_by = {{}} AND status = 'running' AND {id_test}",
        now + dt.timedelta(seconds=lock_seconds),
        worker,
        *id_args,
    )


async def release(worker: str, job_ids: Sequence[int]) -> int:
    """Put jobs interrupted by a shutdown back in the queue, not counting the attempt."""
    if not job_ids:
        return 0
    id_test, id_args = in_list("id", job_ids)
    rows = await Job.raw(
        "UPDATE rapport_job SET status = 'queued', locked_by = '', locked_until = NULL,"
        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END"
        f" WHERE status = 'running' AND locked_by = {{}} AND {id_test} RETURNING id",
        worker,
        *id_args,
    )
    return len(rows)
