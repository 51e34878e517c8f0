"""Logging activities, completing tasks, reading a timeline page by page."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from rapport.activities.kinds import ActivityKind
from rapport.activities.tables import Activity
from rapport.contacts.tables import Contact
from rapport.db.statements import Statement
from rapport.db.transaction import transaction
from rapport.events.bus import publish
from rapport.events.core_events import ActivityLogged, TaskCompleted
from rapport.runtime import current

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list,),
}


class ActivityError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class ActivityNotFound(LookupError):
    pass


def _aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # A naive time would be read back as UTC silently (SQLite stores text): refuse it.
        raise ActivityError({field: "must carry a time zone"})
    return value.astimezone(dt.UTC)


def check_payload(kind: ActivityKind, payload: dict[str, Any]) -> None:
    errors = {}
    for key, value in payload.items():
        expected = kind.payload_fields.get(key)
        if expected is None or value is None:
            continue  # extra keys are allowed: kinds grow between versions
        types = _TYPES.get(expected, (object,))
        if isinstance(value, bool) and bool not in types:
            errors[f"payload.{key}"] = f"must be {expected}"
        elif not isinstance(value, types):
            errors[f"payload.{key}"] = f"must be {expected}"
    if errors:
        raise ActivityError(errors)


async def log_activity(
    contact_id: int,
    kind: str,
    *,
    body: str = "",
    payload: dict[str, Any] | None = None,
    author_id: int | None = None,
    occurred_at: dt.datetime | None = None,
    subject_type: str = "",
    subject_id: str = "",
    due_at: dt.datetime | None = None,
    assignee_id: int | None = None,
) -> int:
    """Add an activity of a registered ``kind`` to a contact's timeline; return its id."""
    kinds = current().activity_kinds
    if kind not in kinds:
        raise ActivityError({"kind": f"unknown activity kind {kind!r}"})
    payload = payload or {}
    check_payload(kinds[kind], payload)
    if (due_at or assignee_id) and not kinds[kind].is_task:
        raise ActivityError({"due_at": f"only tasks have a due time, not {kind}"})
    now = dt.datetime.now(dt.UTC)
    occurred = _aware(occurred_at, "occurred_at") or now
    due = _aware(due_at, "due_at")
    async with transaction():
        if not await Contact.exists().where(Contact.id == contact_id):
            raise ActivityError({"contact": f"contact {contact_id} does not exist"})
        rows = await Activity.insert(
            Activity(
                contact=contact_id,
                kind=kind,
                occurred_at=occurred,
                author=author_id,
                subject_type=subject_type,
                subject_id=str(subject_id),
                body=body,
                payload=json.dumps(payload),
                due_at=due,
                assignee=assignee_id if kinds[kind].is_task else None,
                created_at=now,
            )
        ).returning(Activity.id)
        activity_id = rows[0]["id"]
        await publish(
            ActivityLogged(
                activity_id=activity_id,
                contact_id=contact_id,
                kind=kind,
                author_id=author_id,
                subject_type=subject_type,
                subject_id=str(subject_id),
            ),
            author_id,
        )
    return activity_id


async def complete_task(activity_id: int, *, actor_id: int | None = None) -> bool:
    """Mark a task done; False when it was done already."""
    async with transaction():
        row = (
            await Activity.select(
                Activity.id, Activity.kind, Activity.contact, Activity.assignee, Activity.done_at
            )
            .where(Activity.id == activity_id)
            .first()
        )
        if row is None:
            raise ActivityNotFound(f"activity {activity_id} does not exist")
        kind = current().activity_kinds.get(row["kind"])
        if kind is None or not kind.is_task:
            raise ActivityError({"kind": f"{row['kind']} is not a task"})
        if row["done_at"] is not None:
            return False
        await Activity.update({Activity.done_at: dt.datetime.now(dt.UTC)}).where(
            Activity.id == activity_id
        )
        await publish(
            TaskCompleted(
                activity_id=activity_id, contact_id=row["contact"], assignee_id=row["assignee"]
            ),
            actor_id,
        )
    return True


@functools.cache
def _newest_statement() -> Statement:
    """A contact's newest activities, built once from the table's columns: what
    ``Activity.select()...output(load_json=True)`` sends, without building it per card."""
    columns = ", ".join(f'"{c._meta.db_column_name}"' for c in Activity._meta.columns)
    return Statement(
        f"SELECT {columns} FROM rapport_activity WHERE contact = {{}}"
        " ORDER BY occurred_at DESC, id DESC LIMIT {}"
    )


async def timeline(
    contact_id: int, *, before: tuple[dt.datetime, int] | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Newest first; pass the last row's ``(occurred_at, id)`` as ``before`` for the next page.

    Keyset pagination over the (contact, occurred_at, id) index: page 100 costs what page 1
    does.
    """
    if before is None:
        # The first page, on every card view: a fixed statement (see _newest_statement).
        rows = await _newest_statement().fetch(contact_id, limit)
        for row in rows:
            if isinstance(row["payload"], str):
                row["payload"] = json.loads(row["payload"]) if row["payload"] else None
        return rows
    at, last_id = before
    # A range on the key first, so the planner narrows the index (see contacts.listing).
    query = Activity.select().where(
        (Activity.contact == contact_id)
        & (Activity.occurred_at <= at)
        & ((Activity.occurred_at < at) | (Activity.id < last_id))
    )
    return (
        await query.order_by(Activity.occurred_at, Activity.id, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )


async def open_tasks(
    assignee_id: int,
    *,
    due_before: dt.datetime | None = None,
    after: tuple[dt.datetime, int] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """A user's open tasks, soonest due first (overdue included).

    For pages, pass the last row's ``(due_at, id)`` as ``after`` and a ``limit``.
    """
    query = Activity.select().where(
        (Activity.assignee == assignee_id)
        & Activity.done_at.is_null()
        & Activity.due_at.is_not_null()
    )
    if due_before is not None:
        query = query.where(Activity.due_at < due_before)
    if after is not None:
        at, last_id = after
        query = query.where(
            (Activity.due_at > at) | ((Activity.due_at == at) & (Activity.id > last_id))
        )
    query = query.order_by(Activity.due_at, Activity.id)
    if limit is not None:
        query = query.limit(limit)
    return await query.output(load_json=True)
