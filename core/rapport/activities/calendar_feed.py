"""A user's personal iCalendar feed of open tasks, for calendar apps to subscribe to.

The feed is reached at ``/calendar/<token>.ics`` without signing in: calendar apps fetch it
from their own servers and carry no cookie, so the secret token in the address is the whole
authentication. The token lives in ``rapport_user.calendar_token``; rotating it revokes every
copy of the old address.

Tasks are written as ``VEVENT`` with a short duration rather than ``VTODO``: Google Calendar
and several others ignore to-dos in subscribed calendars. ``icalendar`` does the RFC 5545
work (CRLF line ends, folding at 75 octets, escaping of ``,;\\`` and newlines).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from icalendar import Calendar, Event

from rapport.activities.tables import Activity
from rapport.users.tables import User

EVENT_LENGTH = dt.timedelta(minutes=15)
MAX_EVENTS = 1000  # the soonest open tasks; a feed is fetched often and must stay small
SUMMARY_LENGTH = 120
TOKEN_BYTES = 24  # 32 URL-safe characters, fits the 64-character column
PRODID = "-//Rapport//Tasks feed//EN"
REFRESH = dt.timedelta(minutes=15)  # a hint; Google decides on its own schedule


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


async def calendar_token(user_id: int) -> str:
    """The user's feed token, created on first use."""
    row = await User.select(User.calendar_token).where(User.id == user_id).first()
    if row and row["calendar_token"]:
        return str(row["calendar_token"])
    return await rotate_token(user_id)


async def rotate_token(user_id: int) -> str:
    """Give the user a new feed token; the previous address stops working at once."""
    token = new_token()
    await User.update({User.calendar_token: token}).where(User.id == user_id)
    return token


async def user_for_token(token: str) -> dict[str, Any] | None:
    """The active user a feed token belongs to, or None."""
    if not token or len(token) > 64:
        return None
    return (
        await User.select(User.id, User.name)
        .where((User.calendar_token == token) & (User.is_active == True))  # noqa: E712
        .first()
    )


async def feed_tasks(user_id: int, limit: int = MAX_EVENTS) -> list[dict[str, Any]]:
    """The user's open tasks with a due time, soonest first, with their contact's name."""
    return await (
        Activity.select(
            Activity.id,
            Activity.body,
            Activity.due_at,
            Activity.created_at,
            Activity.contact,
            Activity.contact.name.as_alias("contact_name"),
        )
        .where(
            (Activity.assignee == user_id)
            & Activity.done_at.is_null()
            & Activity.due_at.is_not_null()
        )
        .order_by(Activity.due_at, Activity.id)
        .limit(limit)
    )


def summary(body: str, fallback: str) -> str:
    """A task's title: the first line of its text, shortened."""
    first = (body or "").strip().splitlines()[0].strip() if (body or "").strip() else ""
    if len(first) > SUMMARY_LENGTH:
        first = first[: SUMMARY_LENGTH - 1].rstrip() + "…"
    return first or fallback


def build_calendar(
    tasks: list[dict[str, Any]],
    *,
    base_url: str,
    name: str,
    task_word: str = "Task",
    now: dt.datetime | None = None,
) -> bytes:
    """The iCalendar text of ``tasks`` (rows of :func:`feed_tasks`).

    ``base_url`` (``https://crm.example.com``) makes the links to contact cards; each event's
    UID is derived from the task id and the host, so an edited task updates the same entry.
    """
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    base = base_url.rstrip("/")
    host = base.split("://", 1)[-1].split("/", 1)[0] or "rapport"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    for task in tasks:
        calendar.add_component(_event(task, base, host, task_word, now))
    return calendar.to_ical()


def _event(task: dict[str, Any], base: str, host: str, task_word: str, now: dt.datetime) -> Event:
    start = task["due_at"].astimezone(dt.UTC)
    card = f"{base}/contacts/{task['contact']}"
    title = summary(task["body"], task_word)
    contact = task.get("contact_name") or ""
    event = Event()
    event.add("uid", f"task-{task['id']}@{host}")
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("dtend", start + EVENT_LENGTH)
    event.add("summary", f"{title} — {contact}" if contact else title)
    event.add("description", "\n\n".join(p for p in (task["body"].strip(), card) if p))
    event.add("url", card)
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")  # a reminder to act, not time blocked in the diary
    if task.get("created_at"):
        event.add("created", task["created_at"].astimezone(dt.UTC).replace(microsecond=0))
    return event
