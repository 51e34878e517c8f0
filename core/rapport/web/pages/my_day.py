"""My day: the signed-in user's tasks (overdue, today, the next few days), completing them
inline, plugins' dashboard widgets, and the personal calendar feed.

Days are calendar days in UTC, like every time the interface shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from babel.dates import format_date, format_time
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.activities import calendar_feed
from rapport.activities.calendar_feed import summary
from rapport.activities.service import ActivityError, ActivityNotFound, complete_task
from rapport.activities.tables import Activity
from rapport.runtime import current
from rapport.users.visibility import can_see, restricted_to
from rapport.web.i18n import current_language, fmt_date
from rapport.web.i18n import gettext as _
from rapport.web.live import speaking, user_language
from rapport.web.rendering import fragment, page
from rapport.web.slots import DashboardWidget, SlotError, call_slot

UPCOMING_DAYS = 3  # days after today shown under "Next days"
OVERDUE_LIMIT = 100  # the most recent overdue tasks shown; older ones are counted
LIST_LIMIT = 200  # tasks shown for today and the next days
COMPLETE_ANY_ROLES = ("admin", "manager")  # may complete tasks of others they can see


# --- reading the plan ---------------------------------------------------------------------------


@dataclass
class DayGroup:
    """The tasks of one of the next days."""

    day: dt.date
    label: str
    tasks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DayPlan:
    now: dt.datetime
    overdue: list[dict[str, Any]]
    older_overdue: int
    today: list[dict[str, Any]]
    upcoming: list[DayGroup]
    more: bool  # today and the next days hold more than LIST_LIMIT tasks

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.today or self.upcoming)


def _task_columns() -> tuple[Any, ...]:
    return (
        Activity.id,
        Activity.body,
        Activity.due_at,
        Activity.done_at,
        Activity.assignee,
        Activity.contact,
        Activity.contact.name.as_alias("contact_name"),
    )


def _open_for(user_id: int) -> Any:
    # Matches the partial index rapport_activity_open_tasks (assignee, due_at).
    return (
        (Activity.assignee == user_id) & Activity.done_at.is_null() & Activity.due_at.is_not_null()
    )


async def day_plan(user_id: int, now: dt.datetime | None = None) -> DayPlan:
    """The user's open tasks: overdue (most recent first capped), today, the next days."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    start = dt.datetime.combine(now.date(), dt.time(), tzinfo=dt.UTC)
    tomorrow = start + dt.timedelta(days=1)
    horizon = tomorrow + dt.timedelta(days=UPCOMING_DAYS)
    overdue = await (
        Activity.select(*_task_columns())
        .where(_open_for(user_id) & (Activity.due_at < now))
        .order_by(Activity.due_at, Activity.id, ascending=False)
        .limit(OVERDUE_LIMIT)
    )
    older = 0
    if len(overdue) == OVERDUE_LIMIT:
        total = await Activity.count().where(_open_for(user_id) & (Activity.due_at < now))
        older = total - OVERDUE_LIMIT
    coming = await (
        Activity.select(*_task_columns())
        .where(_open_for(user_id) & (Activity.due_at >= now) & (Activity.due_at < horizon))
        .order_by(Activity.due_at, Activity.id)
        .limit(LIST_LIMIT + 1)
    )
    more = len(coming) > LIST_LIMIT
    coming = [_prepared(row, now) for row in coming[:LIST_LIMIT]]
    return DayPlan(
        now=now,
        overdue=[_prepared(row, now) for row in reversed(overdue)],
        older_overdue=older,
        today=[task for task in coming if task["due_at"] < tomorrow],
        upcoming=_by_day([task for task in coming if task["due_at"] >= tomorrow]),
        more=more,
    )


def _prepared(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """A task row with what the template shows: title, the rest of the text, due labels."""
    due = row["due_at"].astimezone(dt.UTC)
    body = (row["body"] or "").strip()
    title = summary(body, _("Task"))
    rest = body.split("\n", 1)[1].strip() if "\n" in body else ""
    return {
        **row,
        "due_at": due,
        "title": title,
        "details": rest,
        "overdue": row["done_at"] is None and due < now,
        "due_today": due.date() == now.date(),
        "time_label": _time_label(due.hour, due.minute, current_language()),
        "date_label": _date_label(due.date(), "medium", current_language()),
    }


# Babel formatting costs about a tenth of a millisecond a call; a page shows a few hundred
# times, most of them the same few days and minutes.
@lru_cache(maxsize=2048)
def _time_label(hour: int, minute: int, language: str) -> str:
    return format_time(dt.time(hour, minute), "short", locale=language)


@lru_cache(maxsize=512)
def _date_label(day: dt.date, style: str, language: str) -> str:
    return format_date(day, style, locale=language)


def _by_day(tasks: list[dict[str, Any]]) -> list[DayGroup]:
    groups: dict[dt.date, DayGroup] = {}
    for task in tasks:
        day = task["due_at"].date()
        if day not in groups:
            groups[day] = DayGroup(day, _date_label(day, "full", current_language()))
        groups[day].tasks.append(task)
    return list(groups.values())


async def _widgets(request: Request) -> list[Any]:
    items = await call_slot("dashboard_widgets", request=request)
    return [item for item in items if isinstance(item, DashboardWidget | SlotError)]


def _user(request: Request) -> dict[str, Any]:
    return request.scope["user"]  # type: ignore[typeddict-item]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# --- pages --------------------------------------------------------------------------------------


@get("/my-day", name="my-day")
async def my_day(request: Request) -> Template:
    plan = await day_plan(int(_user(request)["id"]))
    return await page(
        request,
        "my_day/index.html",
        plan=plan,
        today_label=fmt_date(plan.now, "full"),
        widgets=await _widgets(request),
    )


async def _completable_task(request: Request, task_id: int) -> dict[str, Any]:
    """The task if this user may complete it: their own, or as a manager or admin one on a
    contact they can see. Anything else is 404, so other people's tasks stay unseen."""
    user = _user(request)
    row = (
        await Activity.select(
            *_task_columns(), Activity.kind, Activity.contact.owner.as_alias("contact_owner")
        )
        .where(Activity.id == task_id)
        .first()
    )
    kind = current().activity_kinds.get(row["kind"]) if row else None
    if row is None or kind is None or not kind.is_task:
        raise NotFoundException()
    if row["assignee"] == user["id"]:
        return row
    if user["role"] in COMPLETE_ANY_ROLES and can_see(
        row["contact_owner"], await restricted_to(user)
    ):
        return row
    raise NotFoundException()


@post("/tasks/{task_id:int}/complete", name="task-complete")
async def complete(request: Request, task_id: FromPath[int]) -> Template | Redirect:
    """Mark a task done; htmx gets the updated row back, a plain form post My day again."""
    await _completable_task(request, task_id)
    try:
        await complete_task(task_id, actor_id=int(_user(request)["id"]))
    except (ActivityNotFound, ActivityError):
        raise NotFoundException() from None
    if not _is_htmx(request):
        return Redirect("/my-day", status_code=303)
    row = await Activity.select(*_task_columns()).where(Activity.id == task_id).first()
    if row is None:  # removed in between (its contact deleted)
        raise NotFoundException()
    return fragment("my_day/_task.html", task=_prepared(row, dt.datetime.now(dt.UTC)))


# --- calendar feed ------------------------------------------------------------------------------


def _feed_urls(request: Request, token: str) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    https = f"{base}/calendar/{token}.ics"
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


@get("/my-day/calendar", name="my-day-calendar")
async def calendar_page(request: Request, reset: FromQuery[bool] = False) -> Template:
    """The user's feed address, created on the first visit."""
    token = await calendar_feed.calendar_token(int(_user(request)["id"]))
    return await page(request, "my_day/calendar.html", urls=_feed_urls(request, token), reset=reset)


@post("/my-day/calendar/reset", name="my-day-calendar-reset")
async def calendar_reset(request: Request) -> Redirect:
    """A new address; calendars subscribed to the old one stop receiving tasks."""
    await calendar_feed.rotate_token(int(_user(request)["id"]))
    return Redirect("/my-day/calendar?reset=true", status_code=303)


@get(
    "/calendar/{filename:str}", opt={"public": True}, name="calendar-feed", include_in_schema=False
)
async def calendar_file(request: Request, filename: FromPath[str]) -> Response[bytes]:
    """The feed itself: the token in the address is the only credential (calendar apps
    fetch it from their servers, without a session). A wrong token is 404."""
    token = filename.removesuffix(".ics")
    user = await calendar_feed.user_for_token(token) if filename.endswith(".ics") else None
    if user is None:
        raise NotFoundException()
    with speaking(await user_language(user["id"])):
        body = calendar_feed.build_calendar(
            await calendar_feed.feed_tasks(user["id"]),
            base_url=str(request.base_url),
            name=_("Rapport tasks: %(name)s", name=user["name"]),
            task_word=_("Task"),
        )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": 'inline; filename="rapport-tasks.ics"',
        },
    )


ROUTES = [my_day, complete, calendar_page, calendar_reset, calendar_file]
