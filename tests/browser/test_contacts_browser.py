"""Contacts in a real browser: the form's messages, the duplicate warning, quick logging on the
card, the global search and record visibility."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect


def _mobile(seed: str) -> str:
    """A Russian mobile number no other test uses (seeded by the test's unique token)."""
    digits = random.Random(seed).randrange(10**8, 10**9)
    return f"9{digits}"


def _create(page: Page, first: str, last: str, phone: str = "", email: str = "") -> int:
    page.goto("/contacts/new")
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    if phone:
        page.locator("#phone-0").fill(phone)
    if email:
        page.locator("#email-0").fill(email)
    page.get_by_role("button", name="Create contact").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _in_process(live_server: dict, work) -> object:
    """Run ``work()`` against the server's database from the test process (in a thread of
    its own: Playwright's sync API keeps an event loop running in this one)."""
    from rapport import bootstrap

    async def run():
        await bootstrap.start(live_server["settings"], call_startup=False)
        try:
            return await work()
        finally:
            await bootstrap.stop()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_a_bad_email_shows_its_message_next_to_the_field(new_page, unique):
    page = new_page("staff")
    page.goto("/contacts/new")
    page.get_by_label("First name").fill(f"Vera {unique}")
    page.locator("#email-0").fill("vera@@example")
    page.locator("#phone-0").fill("+7 912 000 00 00")
    page.get_by_role("button", name="Create contact").click()
    message = page.locator("#email-0-error")
    expect(message).to_have_text("This is not an email address.")
    expect(page.locator("#email-0")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("First name")).to_have_value(f"Vera {unique}")
    expect(page.locator("#phone-0")).to_have_value("+7 912 000 00 00")


def test_the_same_phone_in_another_format_shows_the_duplicate_warning(new_page, unique):
    page = new_page("staff")
    number = _mobile(unique)
    first_id = _create(page, "Anna", f"First{unique}", phone=f"+7 {number}")
    page.goto("/contacts/new")
    page.get_by_label("First name").fill("Anya")
    page.get_by_label("Last name").fill(f"Second{unique}")
    page.locator("#phone-0").fill(f"8 ({number[:3]}) {number[3:6]}-{number[6:8]}-{number[8:]}")
    page.get_by_role("button", name="Create contact").click()
    warning = page.locator("#duplicates")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(f"Anna First{unique}")
    expect(warning.get_by_role("link", name="Open")).to_have_attribute(
        "href", f"/contacts/{first_id}"
    )
    expect(page.get_by_label("Last name")).to_have_value(f"Second{unique}")


def test_a_call_logged_on_the_card_appears_on_top_without_a_reload(new_page, unique):
    page = new_page("staff")
    _create(page, "Boris", f"Caller{unique}")
    page.evaluate("window.stillTheSamePage = true")
    page.locator("label[for=log-kind-call]").click()
    page.get_by_label("What happened").fill(f"Agreed on a demo {unique}")
    page.get_by_label("Minutes").fill("12")
    page.get_by_role("button", name="Log", exact=True).click()
    newest = page.locator("#timeline-list > li.activity").first
    expect(newest).to_contain_text(f"Agreed on a demo {unique}")
    expect(newest).to_contain_text("Call")
    expect(newest).to_contain_text("12 min")
    expect(page.get_by_label("What happened")).to_have_value("")
    page.locator("label[for=log-kind-note]").click()
    page.get_by_label("What happened").fill(f"Sent the brochure {unique}")
    page.get_by_role("button", name="Log", exact=True).click()
    expect(newest).to_contain_text(f"Sent the brochure {unique}")
    expect(page.locator("#timeline-list > li.activity").nth(1)).to_contain_text(
        f"Agreed on a demo {unique}"
    )
    assert page.evaluate("window.stillTheSamePage") is True


def test_the_global_search_finds_a_client_by_the_last_digits_of_the_phone(new_page, unique):
    page = new_page("staff")
    number = _mobile(unique + "search")
    contact_id = _create(page, "Galina", f"Finder{unique}", phone=f"8{number}")
    page.goto("/contacts")
    page.locator("#global-search").press_sequentially(number[-6:], delay=30)
    hit = page.locator(f"#search-results a[href='/contacts/{contact_id}']")
    expect(hit).to_contain_text(f"Galina Finder{unique}")
    hit.click()
    page.wait_for_url(f"**/contacts/{contact_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Galina Finder{unique}")


@pytest.fixture
def own_visibility(live_server) -> Iterator[None]:
    from rapport.users.visibility import set_visibility_mode

    _in_process(live_server, lambda: set_visibility_mode("own"))
    yield
    _in_process(live_server, lambda: set_visibility_mode("all"))


def test_staff_cannot_open_another_reps_contact_when_visibility_is_own(
    new_page, live_server, unique, own_visibility
):
    from rapport.contacts.service import create_contact

    owner = live_server["user_ids"]["staff2"]
    contact_id = _in_process(
        live_server,
        lambda: create_contact({"first_name": "Hidden", "last_name": unique, "owner_id": owner}),
    )
    page = new_page("staff")
    page.goto(f"/contacts/{contact_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert f"Hidden {unique}" not in page.content()
    page.goto("/contacts")
    expect(page.locator(f"tr[data-contact='{contact_id}']")).to_have_count(0)
    manager = new_page("manager")
    manager.goto(f"/contacts/{contact_id}")
    expect(manager.get_by_role("heading", level=1)).to_have_text(f"Hidden {unique}")
