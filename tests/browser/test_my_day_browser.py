"""My day in a real browser: completing a task inline, and a reminder pushed by the server's
own schedule appearing on the open page without a reload.

The server runs the background worker in process (``rapport serve``); the reminder schedule
runs every 2 seconds there instead of every minute, so the test takes seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rapport.activities.reminders import INTERVAL_ENV

# Read by the server process the session's ``live_server`` fixture starts later; set while
# this module is collected, before any fixture runs.
os.environ.setdefault(INTERVAL_ENV, "2")

SCREENSHOTS_ENV = "RAPPORT_SCREENSHOTS"  # a folder: save My day screenshots there


def create_task(settings, assignee: int, body: str, due_in: dt.timedelta, contact: str) -> dict:
    """A contact and a task on it, written in this process against the server's database."""
    from rapport import bootstrap
    from rapport.activities.service import log_activity
    from rapport.contacts.service import create_contact

    async def run() -> dict:
        await bootstrap.start(settings, call_startup=False)
        try:
            first, last = contact.split(" ", 1)
            contact_id = await create_contact({"first_name": first, "last_name": last})
            task_id = await log_activity(
                contact_id,
                "task",
                body=body,
                assignee_id=assignee,
                due_at=dt.datetime.now(dt.UTC) + due_in,
            )
            return {"contact": contact_id, "task": task_id}
        finally:
            await bootstrap.stop()

    # Playwright's sync API keeps an event loop running in this thread: use another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


def open_live_page(page) -> None:
    """Open My day and wait until its live stream is connected (a push sent earlier would be
    missed). A DOM mark, not a polled script: the page's CSP forbids eval."""
    from playwright.sync_api import expect

    page.add_init_script(
        "document.addEventListener('htmx:sseOpen',"
        " () => document.documentElement.setAttribute('data-live-open', ''))"
    )
    page.goto("/my-day")
    expect(page.locator("html[data-live-open]")).to_have_count(1)


def test_complete_a_task_from_my_day(new_page, live_server, unique):
    from playwright.sync_api import expect

    staff = live_server["user_ids"]["staff"]
    made = create_task(
        live_server["settings"],
        staff,
        f"Send the offer {unique}",
        dt.timedelta(0),
        f"Anna Smirnova{unique}",
    )
    page = new_page("staff")
    page.goto("/my-day")
    row = page.locator(f"#task-{made['task']}")
    expect(row).to_contain_text(f"Send the offer {unique}")
    expect(row.get_by_role("link", name=f"Anna Smirnova{unique}")).to_have_attribute(
        "href", f"/contacts/{made['contact']}"
    )
    page.evaluate("window.__sameDocument = true")
    row.get_by_role("button", name=re.compile("^Done")).click()
    expect(row).to_have_class(re.compile(r"\bday-task-done\b"))
    expect(row.get_by_role("status")).to_have_text("Done")
    assert page.evaluate("window.__sameDocument") is True  # completed without a reload
    page.reload()
    expect(page.locator(f"#task-{made['task']}")).to_have_count(0)


def test_a_reminder_appears_on_the_open_page(new_page, live_server, unique):
    from playwright.sync_api import expect

    staff = live_server["user_ids"]["staff"]
    page = new_page("staff")
    open_live_page(page)
    page.evaluate("window.__sameDocument = true")
    made = create_task(
        live_server["settings"],
        staff,
        f"Call back {unique}",
        dt.timedelta(minutes=10),
        f"Boris Petrov{unique}",
    )
    note = page.locator("#live-notifications .live-note", has_text=f"Call back {unique}")
    expect(note).to_be_visible(timeout=20_000)
    expect(note).to_contain_text(f"Boris Petrov{unique} — due in 10 minutes")
    expect(note.get_by_role("link", name="Open")).to_have_attribute(
        "href", f"/contacts/{made['contact']}"
    )
    assert page.evaluate("window.__sameDocument") is True
    note.get_by_role("button", name="Dismiss").click()
    expect(note).to_be_hidden()


def test_my_day_screenshots(new_page, live_server, unique, tmp_path):
    """My day with overdue, today's and coming tasks and a notification, at desktop and
    phone width; written to the folder ``RAPPORT_SCREENSHOTS`` names (the documentation's
    pictures come from here), else to a temporary folder."""
    from playwright.sync_api import expect

    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    staff = live_server["user_ids"]["staff"]
    settings = live_server["settings"]
    now = dt.datetime.now(dt.UTC)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    later_today = min(dt.timedelta(hours=2), (midnight - now) * 0.9)  # still today
    for body, due, contact in [
        ("Send the signed contract back", dt.timedelta(days=-1, hours=-3), "Ivan Kuznetsov"),
        (
            "Call back about the delivery date\nShe asked for Thursday or Friday morning",
            later_today,
            "Anna Smirnova",
        ),
        ("Prepare the quarterly offer", dt.timedelta(days=1, hours=1), "Oleg Sokolov"),
        ("Meeting at the client's office", dt.timedelta(days=2, hours=3), "Maria Ivanova"),
    ]:
        create_task(settings, staff, body, due, contact)
    for width, name in [(1280, "my-day.png"), (390, "my-day-phone.png")]:
        page = new_page("staff", width=width)
        open_live_page(page)
        create_task(
            settings,
            staff,
            f"Call the new lead {unique}{width}",
            dt.timedelta(minutes=10),
            "Elena Volkova",
        )
        expect(page.locator(".live-note", has_text=f"{unique}{width}")).to_be_visible(
            timeout=20_000
        )
        page.screenshot(path=str(folder / name), full_page=True)
        assert (folder / name).stat().st_size > 10_000  # a rendered page, not a blank one
