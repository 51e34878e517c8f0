"""My day: a user's own due and overdue tasks, completing them inline, dashboard widgets, the
personal calendar feed, and the reminder job."""

from __future__ import annotations

import datetime as dt
import re
import types
from typing import Any

import icalendar
import pytest
from litestar.testing import AsyncTestClient
from rapport import bootstrap
from rapport.activities.service import log_activity
from rapport.contacts.service import create_contact
from rapport.hookspecs import hookimpl
from rapport.plugins import state
from rapport.plugins.manifest import Manifest
from rapport.plugins.registry import PluginRegistry
from rapport.testing import sign_in as kit_sign_in
from rapport.users.accounts import create_user
from rapport.web.app import create_app
from rapport.web.slots import DashboardWidget

PASSWORD = "my-day-pass-1"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _widgets_plugin() -> types.ModuleType:
    module = types.ModuleType("rapport_test_widgets")
    module.manifest = Manifest(name="widgets_demo", title="Widgets demo", version="1.0")

    @hookimpl
    def dashboard_widgets(request):
        return [DashboardWidget("Calls today", "<p class='calls'>7 calls</p>", key="calls")]

    module.dashboard_widgets = dashboard_widgets
    return module


def _broken_widgets_plugin() -> types.ModuleType:
    module = types.ModuleType("rapport_test_broken_widgets")
    module.manifest = Manifest(name="broken_widgets", title="Broken widgets", version="1.0")

    @hookimpl
    def dashboard_widgets(request):
        raise RuntimeError("boom")

    module.dashboard_widgets = dashboard_widgets
    return module


async def _seed(settings, registry: PluginRegistry | None = None) -> dict[str, Any]:
    """Users, a contact and tasks, written before the app starts (the app runs its own loop)."""
    await bootstrap.start(settings, registry, call_startup=False)
    try:
        for name in registry.installed if registry else {}:
            await state.enable(name)
        staff = (await create_user("sam@example.com", "Sam Staff", PASSWORD, "staff"))["id"]
        other = (await create_user("olga@example.com", "Olga Other", PASSWORD, "staff"))["id"]
        manager = (await create_user("max@example.com", "Max Manager", PASSWORD, "manager"))["id"]
        anna = await create_contact({"first_name": "Anna", "last_name": "Smirnova"})
        now = dt.datetime.now(dt.UTC)

        async def task(body: str, due: dt.timedelta, assignee: int) -> int:
            return await log_activity(
                anna, "task", body=body, due_at=now + due, assignee_id=assignee
            )

        ids = {
            "overdue": await task("Send the offer", -dt.timedelta(days=2), staff),
            "soon": await task("Call back\nAsk about the invoice", dt.timedelta(minutes=1), staff),
            "later": await task("Prepare the contract", dt.timedelta(days=2), staff),
            "far": await task("Quarterly review", dt.timedelta(days=20), staff),
            "others": await task("Olga's own call", dt.timedelta(minutes=5), other),
            "note": await log_activity(anna, "note", body="Just a note"),
        }
        return {
            "users": {"staff": staff, "other": other, "manager": manager},
            "contact": anna,
            "tasks": ids,
        }
    finally:
        await bootstrap.stop()


async def sign_in(client: AsyncTestClient, email: str) -> str:
    """Sign in through the form; return a CSRF token for later posts."""
    return await kit_sign_in(client, email, PASSWORD)


def _htmx(token: str) -> dict[str, str]:
    return {"hx-request": "true", "x-csrftoken": token}


@pytest.fixture
async def seeded(rapport_settings):
    return await _seed(rapport_settings)


@pytest.fixture
async def client(rapport_settings, seeded):
    async with AsyncTestClient(create_app(rapport_settings, PluginRegistry())) as client:
        yield client


async def test_my_day_lists_the_users_due_and_overdue_tasks_only(client, seeded):
    await sign_in(client, "sam@example.com")
    response = await client.get("/my-day")
    assert response.status_code == 200
    html = response.text
    tasks = seeded["tasks"]
    overdue = re.search(
        rf'<li class="day-task day-task-overdue" id="task-{tasks["overdue"]}"', html
    )
    assert overdue, "the overdue task is listed and marked"
    assert "Send the offer" in html and "Overdue" in html
    assert f'id="task-{tasks["soon"]}"' in html and "Ask about the invoice" in html
    assert f'id="task-{tasks["later"]}"' in html and "Next days" in html
    assert f'href="/contacts/{seeded["contact"]}">Anna Smirnova</a>' in html
    assert "Quarterly review" not in html  # beyond the next days
    assert "Olga&#39;s own call" not in html and "Olga's own call" not in html
    assert 'href="/my-day/calendar"' in html


async def test_completing_a_task_inline_answers_with_the_done_row(client, seeded):
    token = await sign_in(client, "sam@example.com")
    task = seeded["tasks"]["soon"]
    done = await client.post(f"/tasks/{task}/complete", headers=_htmx(token))
    assert done.status_code == 200
    assert f'id="task-{task}"' in done.text and "day-task-done" in done.text
    assert "<html" not in done.text  # a fragment for the swap, not a page
    again = await client.post(f"/tasks/{task}/complete", headers=_htmx(token))
    assert again.status_code == 200 and "day-task-done" in again.text
    page = await client.get("/my-day")
    assert f'id="task-{task}"' not in page.text
    # Without JavaScript the form posts and comes back to My day.
    plain = await client.post(
        f"/tasks/{seeded['tasks']['later']}/complete",
        data={"_csrf_token": token},
        follow_redirects=False,
    )
    assert plain.status_code == 303 and plain.headers["location"] == "/my-day"


async def test_tasks_the_user_may_not_complete_are_not_found(client, seeded):
    token = await sign_in(client, "sam@example.com")
    tasks = seeded["tasks"]
    for target in (tasks["others"], tasks["note"], 999_999):
        response = await client.post(f"/tasks/{target}/complete", headers=_htmx(token))
        assert response.status_code == 404, target
    without_token = await client.post(
        f"/tasks/{tasks['soon']}/complete", headers={"hx-request": "true"}
    )
    assert without_token.status_code == 403


async def test_a_manager_may_complete_a_reps_task(client, seeded):
    token = await sign_in(client, "max@example.com")
    response = await client.post(
        f"/tasks/{seeded['tasks']['others']}/complete", headers=_htmx(token)
    )
    assert response.status_code == 200 and "day-task-done" in response.text


async def test_dashboard_widgets_show_and_a_failing_one_is_an_error_box(rapport_settings):
    registry = PluginRegistry()
    registry.add(_widgets_plugin())
    registry.add(_broken_widgets_plugin())
    await _seed(rapport_settings, registry)
    async with AsyncTestClient(create_app(rapport_settings, registry)) as client:
        await sign_in(client, "sam@example.com")
        response = await client.get("/my-day")
    assert response.status_code == 200
    assert "Calls today" in response.text and "<p class='calls'>7 calls</p>" in response.text
    assert 'class="slot-error"' in response.text and "broken_widgets" in response.text


async def test_my_day_speaks_russian(client, seeded, rapport_settings):
    await sign_in(client, "sam@example.com")
    token = CSRF.search((await client.get("/my-day")).text).group(1)
    await client.post("/account/language", data={"language": "ru", "_csrf_token": token})
    html = (await client.get("/my-day")).text
    assert "Мой день" in html and "Просрочено" in html and "Выполнено" in html


# --- the calendar feed ---------------------------------------------------------------------------


def _feed_path(html: str) -> str:
    return re.search(r'value="https?://[^/"]+(/calendar/[^"]+\.ics)"', html).group(1)


async def test_calendar_feed_lists_open_tasks_and_parses(client, seeded):
    await sign_in(client, "sam@example.com")
    page = await client.get("/my-day/calendar")
    assert page.status_code == 200 and "webcal://" in page.text
    path = _feed_path(page.text)
    assert _feed_path((await client.get("/my-day/calendar")).text) == path  # made once
    client.cookies.clear()  # calendar apps carry no session
    feed = await client.get(path)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert b"\r\n" in feed.content and all(len(line) <= 75 for line in feed.content.split(b"\r\n"))
    calendar = icalendar.Calendar.from_ical(feed.content)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    tasks = seeded["tasks"]
    uid = next(u for u in events if u.startswith(f"task-{tasks['soon']}@"))
    event = events[uid]
    assert str(event["summary"]) == "Call back — Anna Smirnova"
    assert "Ask about the invoice" in str(event["description"])
    assert str(event["url"]).endswith(f"/contacts/{seeded['contact']}")
    start = event.decoded("dtstart")
    assert start.utcoffset() == dt.timedelta(0)
    assert event.decoded("dtend") - start == dt.timedelta(minutes=15)
    assert "dtstamp" in event
    assert any(u.startswith(f"task-{tasks['far']}@") for u in events)  # every open task
    assert not any(u.startswith(f"task-{tasks['others']}@") for u in events)


async def test_wrong_calendar_token_is_not_found_and_reset_rotates(client, seeded):
    token = await sign_in(client, "sam@example.com")
    old = _feed_path((await client.get("/my-day/calendar")).text)
    assert (await client.get("/calendar/not-a-token.ics")).status_code == 404
    assert (await client.get(old.removesuffix(".ics"))).status_code == 404
    reset = await client.post(
        "/my-day/calendar/reset", data={"_csrf_token": token}, follow_redirects=False
    )
    assert reset.status_code == 303
    new = _feed_path((await client.get("/my-day/calendar?reset=true")).text)
    assert new != old
    assert (await client.get(old)).status_code == 404
    assert (await client.get(new)).status_code == 200


def test_calendar_text_escapes_and_folds():
    from rapport.activities.calendar_feed import build_calendar

    due = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    body = "Call, then; write \\ back\nsecond line " + "ж" * 60
    text = build_calendar(
        [{"id": 7, "body": body, "due_at": due, "contact": 3, "contact_name": "Anna"}],
        base_url="https://crm.example.com/",
        name="Tasks",
        now=due,
    )
    lines = text.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    unfolded = text.replace(b"\r\n ", b"").decode()
    assert "SUMMARY:Call\\, then\\; write \\\\ back — Anna" in unfolded
    assert "DESCRIPTION:Call\\, then\\; write \\\\ back\\nsecond line" in unfolded
    assert "DTSTART:20260301T093000Z" in unfolded and "UID:task-7@crm.example.com" in unfolded
    assert "URL:https://crm.example.com/contacts/3" in unfolded
