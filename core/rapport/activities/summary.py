"""Grouped reads of activities for plugins: open tasks of many subjects at once, the
activities of one subject, and counts per author and kind for reports.

Each is one query, so a board of a thousand deals costs one query, not a thousand; the
subject reads use the ``rapport_activity_subject`` index.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.query.functions.aggregate import Count

from rapport.activities.tables import Activity
from rapport.runtime import current


def _task_kinds() -> list[str]:
    return [name for name, kind in current().activity_kinds.items() if kind.is_task]


async def open_tasks_of_subjects(
    subject_type: str, subject_ids: list[int] | list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Open tasks linked to the given subjects, soonest due first (undated last).

    Returns ``{subject_id: [task, ...]}`` with ``id``, ``body``, ``due_at``, ``assignee`` and
    ``contact`` of each task; subjects without open tasks are absent.
    """
    ids = sorted({str(i) for i in subject_ids})
    kinds = _task_kinds()
    if not ids or not kinds:
        return {}
    rows = (
        await Activity.select(
            Activity.id,
            Activity.subject_id,
            Activity.body,
            Activity.due_at,
            Activity.assignee,
            Activity.contact,
        )
        .where(
            (Activity.subject_type == subject_type)
            & Activity.subject_id.is_in(ids)
            & Activity.kind.is_in(kinds)
            & Activity.done_at.is_null()
        )
        .order_by(Activity.id)
    )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    result: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: (r["due_at"] or far, r["id"])):
        result.setdefault(row["subject_id"], []).append(row)
    return result


async def subject_activities(
    subject_type: str, subject_id: int | str, *, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest activities linked to one subject (a deal, a card), newest first."""
    return (
        await Activity.select()
        .where((Activity.subject_type == subject_type) & (Activity.subject_id == str(subject_id)))
        .order_by(Activity.occurred_at, Activity.id, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )


async def activity_counts(
    since: dt.datetime, until: dt.datetime, kinds: list[str] | None = None
) -> dict[tuple[int | None, str], int]:
    """How many activities each author logged per kind with ``since <= occurred_at < until``.

    Returns ``{(author_id, kind): count}``; one grouped query.
    """
    query = Activity.select(Activity.author, Activity.kind, Count(Activity.id, alias="n"))
    query = query.where((Activity.occurred_at >= since) & (Activity.occurred_at < until))
    if kinds:
        query = query.where(Activity.kind.is_in(kinds))
    rows = await query.group_by(Activity.author, Activity.kind)
    return {(r["author"], r["kind"]): r["n"] for r in rows}
