"""``/api/v1/contacts/{id}/activities``, ``/api/v1/activities/{id}`` and ``/api/v1/tasks``.

A contact's timeline is read newest first a page at a time; logging goes through the
activities service (kinds, payload checks, events). Tasks are the token's user's own open
ones; completing one needs it to be theirs or on a contact they may see.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import JSONBody, Parameter

from rapport.activities.service import (
    ActivityError,
    complete_task,
    log_activity,
    open_tasks,
    timeline,
)
from rapport.activities.tables import Activity
from rapport.contacts.tables import Contact
from rapport.rest import API_PREFIX
from rapport.rest.pagination import ApiCursor, ApiLimit, cursor_page, decode_cursor
from rapport.rest.problems import ApiProblem, FieldError
from rapport.rest.resources.common import (
    RecordId,
    invalid,
    not_found,
    reject_nul,
    require_permission,
    user_of,
)
from rapport.rest.resources.models import ActivityCreate, ActivityOut, ActivityPage, activity_out
from rapport.rest.scopes import requires_scope
from rapport.users.visibility import can_see, restricted_to

READ = [requires_scope("activities:read")]
WRITE = [requires_scope("activities:write")]


def _moment(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _cursor_key(list_name: str, cursor: str | None) -> tuple[dt.datetime, int] | None:
    values = decode_cursor(list_name, cursor, 2)
    if values is None:
        return None
    try:
        return _moment(values[0]), int(values[1])
    except (TypeError, ValueError):
        raise ApiProblem(
            400,
            "Bad cursor",
            "pass the next_cursor of the previous page unchanged",
            kind="bad-cursor",
            errors=[
                FieldError(field="cursor", message="is not a cursor of this list", location="query")
            ],
        ) from None


async def _contact_visible(request: Request, contact_id: int) -> bool:
    row = await Contact.select(Contact.owner).where(Contact.id == contact_id).first()
    return row is not None and can_see(row["owner"], await restricted_to(user_of(request)))


async def _activity(request: Request, activity_id: int) -> dict[str, Any]:
    """The activity, or 404 when it does not exist or its contact is out of sight (a task
    assigned to the user is always in sight)."""
    row = await Activity.select().where(Activity.id == activity_id).first().output(load_json=True)
    if row is None:
        raise not_found("activity", activity_id)
    if row["assignee"] != user_of(request)["id"] and not await _contact_visible(
        request, row["contact"]
    ):
        raise not_found("activity", activity_id)
    return row


@get(
    "/contacts/{contact_id:int}/activities",
    guards=READ,
    operation_id="listContactActivities",
    tags=["activities"],
)
async def list_activities(
    request: Request, contact_id: RecordId, limit: ApiLimit = 50, cursor: ApiCursor = None
) -> ActivityPage:
    """A contact's timeline, newest first."""
    await require_permission(request, "contacts.view")
    if not await _contact_visible(request, contact_id):
        raise not_found("contact", contact_id)
    before = _cursor_key("activities", cursor)
    rows = await timeline(contact_id, before=before, limit=limit + 1)
    page, next_cursor = cursor_page(
        rows, limit, "activities", lambda r: [r["occurred_at"].isoformat(), r["id"]]
    )
    return ActivityPage(data=[activity_out(r) for r in page], next_cursor=next_cursor)


@post(
    "/contacts/{contact_id:int}/activities",
    guards=WRITE,
    operation_id="logActivity",
    tags=["activities"],
)
async def log_activity_api(
    request: Request, contact_id: RecordId, data: JSONBody[ActivityCreate]
) -> Response[ActivityOut]:
    """Log a note, call, email, meeting, task or a plugin's kind on a contact's timeline."""
    await require_permission(request, "activities.log")
    if not await _contact_visible(request, contact_id):
        raise not_found("contact", contact_id)
    reject_nul(
        {
            "kind": data.kind,
            "body": data.body,
            "payload": data.payload,
            "subject_type": data.subject_type,
            "subject_id": data.subject_id,
        }
    )
    if data.assignee_id is not None:
        from rapport.users.tables import User

        if not await User.exists().where(User.id == data.assignee_id):
            raise invalid({"assignee_id": "no such user"})
    try:
        activity_id = await log_activity(
            contact_id,
            data.kind,
            body=data.body,
            payload=data.payload,
            author_id=user_of(request)["id"],
            occurred_at=data.occurred_at,
            subject_type=data.subject_type,
            subject_id=data.subject_id,
            due_at=data.due_at,
            assignee_id=data.assignee_id,
        )
    except ActivityError as exc:
        raise invalid(exc.errors) from None
    row = await Activity.select().where(Activity.id == activity_id).first().output(load_json=True)
    return Response(
        activity_out(row),
        status_code=201,
        headers={"Location": f"{API_PREFIX}/activities/{activity_id}"},
    )


@get("/activities/{activity_id:int}", guards=READ, operation_id="getActivity")
async def get_activity_api(request: Request, activity_id: RecordId) -> ActivityOut:
    await require_permission(request, "contacts.view")
    return activity_out(await _activity(request, activity_id))


@get("/tasks", guards=READ, operation_id="listOpenTasks")
async def list_tasks(
    request: Request,
    limit: ApiLimit = 50,
    cursor: ApiCursor = None,
    due_before: Annotated[
        dt.datetime | None, Parameter(description="Only tasks due before this time.")
    ] = None,
) -> ActivityPage:
    """The token's user's open tasks, soonest due first (overdue included)."""
    if due_before is not None and due_before.tzinfo is None:
        raise ApiProblem(
            400,
            "Bad time",
            "times must carry a time zone",
            kind="invalid-request",
            errors=[
                FieldError(field="due_before", message="must carry a time zone", location="query")
            ],
        )
    after = _cursor_key("tasks", cursor)
    rows = await open_tasks(
        user_of(request)["id"], due_before=due_before, after=after, limit=limit + 1
    )
    page, next_cursor = cursor_page(
        rows, limit, "tasks", lambda r: [r["due_at"].isoformat(), r["id"]]
    )
    return ActivityPage(data=[activity_out(r) for r in page], next_cursor=next_cursor)


@post("/tasks/{task_id:int}/complete", guards=WRITE, status_code=200, operation_id="completeTask")
async def complete_task_api(request: Request, task_id: RecordId) -> ActivityOut:
    """Mark a task done (completing a done task again changes nothing)."""
    await require_permission(request, "activities.log")
    await _activity(request, task_id)
    try:
        await complete_task(task_id, actor_id=user_of(request)["id"])
    except ActivityError as exc:
        raise invalid(exc.errors) from None
    return activity_out(await _activity(request, task_id))


ROUTES = [list_activities, log_activity_api, get_activity_api, list_tasks, complete_task_api]
