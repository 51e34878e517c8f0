"""The card's timeline: pages of activities, quick logging and completing tasks inline.

Each page is 30 activities read by keyset (``activities.service.timeline``) plus one query for
the names of their authors and assignees. With htmx the next page loads when its sentinel
scrolls into view and a logged activity is inserted at the top; without JavaScript the same
URLs work as plain links and form posts.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.activities.service import ActivityError, complete_task, log_activity, timeline
from rapport.activities.subjects import subject_links
from rapport.activities.tables import Activity
from rapport.runtime import current
from rapport.web.i18n import gettext as _
from rapport.web.pages.contact_common import (
    LOG,
    Form,
    abilities,
    form_text,
    is_htmx,
    kind_label,
    require,
    user_choices,
    user_names,
    user_of,
    visible_contact,
)
from rapport.web.rendering import fragment

PAGE = 30
QUICK_KINDS = ("note", "call", "meeting", "task")
DIRECTIONS = ("outgoing", "incoming")
MAX_CALL_MINUTES = 24 * 60


# --- reading ------------------------------------------------------------------------------------


def encode_before(row: dict[str, Any]) -> str:
    raw = json.dumps([row["occurred_at"].isoformat(), row["id"]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_before(token: str | None) -> tuple[dt.datetime, int] | None:
    """The (occurred_at, id) a "more" link carries; a broken one starts from the newest."""
    if not token:
        return None
    try:
        at, last_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        moment = dt.datetime.fromisoformat(at)
        if not isinstance(last_id, int):
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)), last_id
    except (ValueError, TypeError):
        return None


@dataclass
class TimelinePage:
    items: list[dict[str, Any]]
    before: str | None  # token of the next (older) page, None at the end


def _minutes(seconds: Any) -> str:
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return ""
    if seconds < 60:
        return _("%(seconds)s s", seconds=seconds)
    return _("%(minutes)s min", minutes=round(seconds / 60))


def prepare(rows: list[dict[str, Any]], names: dict[int, str]) -> list[dict[str, Any]]:
    """What the item template shows, computed in Python so the template stays simple."""
    kinds = current().activity_kinds
    now = dt.datetime.now(dt.UTC)
    items = []
    for row in rows:
        payload = row.get("payload") or {}
        declared = kinds.get(row["kind"])
        direction = payload.get("direction") if isinstance(payload, dict) else None
        items.append(
            {
                **row,
                "label": kind_label(row["kind"]),
                "author_name": names.get(row["author"]) if row["author"] else None,
                "assignee_name": names.get(row["assignee"]) if row["assignee"] else None,
                "is_task": bool(declared and declared.is_task),
                "overdue": bool(row["due_at"] and not row["done_at"] and row["due_at"] < now),
                "direction": direction if direction in DIRECTIONS else None,
                "duration": _minutes(payload.get("duration")) if isinstance(payload, dict) else "",
            }
        )
    return items


async def prepared(
    rows: list[dict[str, Any]], names: dict[int, str] | None = None
) -> list[dict[str, Any]]:
    """``names`` (user id → name) when the caller has them already, else they are read."""
    if names is None:
        names = await user_names({r["author"] for r in rows} | {r["assignee"] for r in rows})
    items = prepare(rows, names)
    links = await subject_links(rows)
    for item in items:
        item["subject_link"] = links.get((item["subject_type"], item["subject_id"]))
    return items


async def timeline_page(
    contact_id: int, before: str | None = None, names: dict[int, str] | None = None
) -> TimelinePage:
    rows = await timeline(contact_id, before=decode_before(before), limit=PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return TimelinePage(await prepared(rows, names), encode_before(rows[-1]) if more else None)


@get("/contacts/{contact_id:int}/timeline", name="contact-timeline")
async def timeline_more(
    request: Request, contact_id: FromPath[int], before: FromQuery[str] = ""
) -> Template:
    """The next page of the timeline as list items, ending with the sentinel of the page
    after it (the htmx "more" request and the infinite scroll both land here)."""
    contact = await visible_contact(request, contact_id)
    result = await timeline_page(contact_id, before or None)
    return fragment(
        "contacts/_timeline_items.html",
        contact=contact,
        items=result.items,
        before=result.before,
        can=await abilities(request),
    )


# --- quick logging ------------------------------------------------------------------------------


@dataclass
class LogForm:
    """The quick-log form as typed; kept on an error, reset (kind kept) after a success."""

    kind: str = "note"
    body: str = ""
    direction: str = "outgoing"
    duration: str = ""
    due_date: str = ""
    due_time: str = ""
    assignee_id: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def fresh(self) -> LogForm:
        return LogForm(kind=self.kind, assignee_id=self.assignee_id)


def read_log_form(data: dict[str, Any]) -> LogForm:
    kind = form_text(data, "kind")
    direction = form_text(data, "direction")
    return LogForm(
        kind=kind if kind in QUICK_KINDS else "note",
        body=form_text(data, "body", 20_000),
        direction=direction if direction in DIRECTIONS else "outgoing",
        duration=form_text(data, "duration", 10),
        due_date=form_text(data, "due_date", 10),
        due_time=form_text(data, "due_time", 8),
        assignee_id=form_text(data, "assignee_id", 12),
    )


def _due(form: LogForm) -> dt.datetime | None:
    """The due moment; times are entered and shown in UTC, like every time in the UI."""
    if not form.due_date:
        if form.due_time:
            form.errors["due_date"] = _("Enter the date too.")
        return None
    try:
        day = dt.date.fromisoformat(form.due_date)
    except ValueError:
        form.errors["due_date"] = _("Enter a date.")
        return None
    try:
        at = dt.time.fromisoformat(form.due_time) if form.due_time else dt.time(9, 0)
    except ValueError:
        form.errors["due_time"] = _("Enter a time such as 14:30.")
        return None
    return dt.datetime.combine(day, at, tzinfo=dt.UTC)


def check_log_form(form: LogForm, user_ids: set[int]) -> dict[str, Any]:
    """The arguments for ``log_activity``; problems go to ``form.errors`` by field."""
    args: dict[str, Any] = {"body": form.body, "payload": {}}
    if not form.body and form.kind in ("note", "task"):
        form.errors["body"] = (
            _("Describe the task.") if form.kind == "task" else _("Write what happened.")
        )
    if form.kind == "call":
        args["payload"]["direction"] = form.direction
        if form.duration:
            if not form.duration.isdigit() or int(form.duration) > MAX_CALL_MINUTES:
                form.errors["duration"] = _("Enter the minutes as a whole number.")
            else:
                args["payload"]["duration"] = int(form.duration) * 60
    if form.kind == "task":
        args["due_at"] = _due(form)
        if form.assignee_id:
            if not form.assignee_id.isdigit() or int(form.assignee_id) not in user_ids:
                form.errors["assignee_id"] = _("Pick a user from the list.")
            else:
                args["assignee_id"] = int(form.assignee_id)
    return args


_ERROR_FIELDS = {
    "body": "log-body",
    "duration": "log-duration",
    "due_date": "log-due-date",
    "due_at": "log-due-date",
    "due_time": "log-due-time",
    "assignee_id": "log-assignee",
}


async def log_form_context(
    request: Request,
    contact: dict[str, Any],
    form: LogForm,
    users: list[tuple[int, str]] | None = None,
) -> dict:
    """What ``_quick_log.html`` needs; messages keyed by the ids of the fields they belong to
    (anything else is shown under the form). ``users``: the assignee choices, if read."""
    errors: dict[str, str] = {}
    for key, message in form.errors.items():
        target = _ERROR_FIELDS.get(key, "log-form")
        errors[target] = message if target != "log-form" else _("This could not be logged.")
    return {
        "contact": contact,
        "log": form,
        "log_errors": errors,
        "users": users if users is not None else await user_choices(),
        "quick_kinds": [(k, kind_label(k)) for k in QUICK_KINDS],
    }


@post("/contacts/{contact_id:int}/activities", name="contact-log")
async def quick_log(request: Request, contact_id: FromPath[int], data: Form) -> Template | Redirect:
    contact = await visible_contact(request, contact_id)
    await require(request, LOG)
    form = read_log_form(data)
    users = await user_choices()
    args = check_log_form(form, {u for u, _name in users})
    activity_id = None
    if not form.errors:
        try:
            activity_id = await log_activity(
                contact_id, form.kind, author_id=int(user_of(request)["id"]), **args
            )
        except ActivityError as exc:
            # The form checked what people can get wrong; what is left is not theirs to fix.
            form.errors.update(
                {k.removeprefix("payload."): _("This value cannot be used.") for k in exc.errors}
            )
    if form.errors:
        return await _log_failed(request, contact, form)
    if not is_htmx(request):
        return Redirect(f"/contacts/{contact_id}#timeline", status_code=303)
    row = await Activity.select().where(Activity.id == activity_id).first().output(load_json=True)
    return fragment(
        "contacts/_logged.html",
        item=(await prepared([row]))[0],
        can=await abilities(request),
        **await log_form_context(request, contact, form.fresh()),
    )


async def _log_failed(request: Request, contact: dict[str, Any], form: LogForm) -> Template:
    """htmx: the form with its messages replaces itself (the timeline stays as it was).
    Without JavaScript: the whole card again, with the form as typed."""
    if is_htmx(request):
        response = fragment(
            "contacts/_quick_log.html", **await log_form_context(request, contact, form)
        )
        response.headers.update({"HX-Retarget": "#quick-log", "HX-Reswap": "outerHTML"})
        return response
    from rapport.web.pages.contact_card import card_page

    return await card_page(request, contact, log=form, status_code=400)


@post("/contacts/{contact_id:int}/tasks/{task_id:int}/complete", name="contact-task-done")
async def complete_task_on_card(
    request: Request, contact_id: FromPath[int], task_id: FromPath[int]
) -> Template | Redirect:
    """Done from the card: answers with the updated item, so the timeline keeps its place."""
    contact = await visible_contact(request, contact_id)
    await require(request, LOG)
    row = (
        await Activity.select()
        .where((Activity.id == task_id) & (Activity.contact == contact_id))
        .first()
        .output(load_json=True)
    )
    if row is None:
        raise NotFoundException()
    try:
        await complete_task(task_id, actor_id=int(user_of(request)["id"]))
    except ActivityError:
        raise NotFoundException() from None  # not a task: there is nothing to complete here
    if not is_htmx(request):
        return Redirect(f"/contacts/{contact_id}#activity-{task_id}", status_code=303)
    row = await Activity.select().where(Activity.id == task_id).first().output(load_json=True)
    return fragment(
        "contacts/_activity.html",
        item=(await prepared([row]))[0],
        contact=contact,
        can=await abilities(request),
    )


ROUTES = [timeline_more, quick_log, complete_task_on_card]
