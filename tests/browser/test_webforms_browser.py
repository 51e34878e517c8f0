"""Web forms in a real browser: a site on another port embeds the snippet; a visitor who came
from an ad submits; the rep sees the live notification, the contact with its source and UTM
tags, and (the funnel enabled) the deal on the board; the same visitor writing again with the
phone typed differently is matched.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest


def _in_server_db(settings, make):
    """Run ``make()`` against the live server's database from this process."""
    from rapport import bootstrap

    async def run():
        await bootstrap.start(settings, call_startup=False)
        try:
            return await make()
        finally:
            await bootstrap.stop()

    # Playwright's sync API keeps an event loop running in this thread: use another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict]:
    """A plain static site on its own port: another origin than the CRM."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "root": tmp_path}
    server.shutdown()
    server.server_close()


def open_live_page(page) -> None:
    from playwright.sync_api import expect

    page.add_init_script(
        "document.addEventListener('htmx:sseOpen',"
        " () => document.documentElement.setAttribute('data-live-open', ''))"
    )
    page.goto("/my-day")
    expect(page.locator("html[data-live-open]")).to_have_count(1)


def test_a_visitor_on_another_site_becomes_an_assigned_contact(
    browser, new_page, live_server, site, unique
):
    settings = live_server["settings"]
    staff = live_server["user_ids"]["staff"]

    async def prepare():
        from rapport.api import add_assignment_rule
        from rapport.plugins import state
        from rapport_funnel.pipelines import create_pipeline
        from rapport_webforms.forms import create_form

        await state.enable("webforms")
        await state.enable("funnel")
        pipeline = await create_pipeline(f"Web {unique}", [{"name": "Incoming"}, {"name": "Call"}])
        await add_assignment_rule(
            f"Site {unique}", "source", match_values=[f"site-{unique}"], target_user=staff
        )
        form = await create_form(
            f"Call me back {unique}",
            source=f"site-{unique}",
            min_fill_seconds=0,
            allowed_origins=[site["url"]],
            thank_you="Thanks, we will call you.",
            pipeline=f"Web {unique}",
            stage="Call",
        )
        return form, pipeline

    async def funnel_off():
        from rapport.plugins import state

        await state.disable("funnel")

    form, pipeline = _in_server_db(settings, prepare)
    try:
        _visit(browser, new_page, live_server, site, unique, form, pipeline)
    finally:
        _in_server_db(settings, funnel_off)  # the funnel's own browser test expects it off


def _visit(browser, new_page, live_server, site, unique, form, pipeline) -> None:
    from playwright.sync_api import expect

    settings = live_server["settings"]
    (site["root"] / "offer.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Offer</title>"
        "<style>input, label { color: red !important; font-size: 40px !important; }</style>"
        "</head><body><h1>Winter offer</h1>"
        f"<script src='{live_server['url']}/static/plugins/webforms/webforms.js'"
        f" data-rapport-form='{form.key}' async></script></body></html>"
    )

    rep = new_page("staff")
    open_live_page(rep)

    visitor = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
    visitor.goto(
        f"{site['url']}/offer.html?utm_source=yandex&utm_medium=cpc&utm_campaign=winter{unique}"
    )
    host = visitor.locator(f"[data-rapport-form-host='{form.key}']")
    name = host.get_by_label("Your name")
    expect(name).to_be_visible()
    # The site's styles stay outside the Shadow DOM.
    assert name.evaluate("n => getComputedStyle(n).fontSize") != "40px"
    name.fill(f"Irina Volkova {unique}")
    host.get_by_label("Phone").fill("+7 912 555-01-23")
    host.get_by_label("Email").fill(f"irina{unique}@example.com")
    host.get_by_label("Message").fill("Please call me about the winter offer")
    host.get_by_label("I agree to the processing of my personal data").check()
    host.get_by_role("button", name="Send").click()
    expect(host.get_by_role("status")).to_have_text("Thanks, we will call you.")

    note = rep.locator(
        "#live-notifications .live-note", has_text=f"New form submission: Call me back {unique}"
    )
    expect(note).to_be_visible(timeout=20_000)
    expect(note).to_contain_text(f"Irina Volkova {unique}")
    note.get_by_role("link", name="Open").click()
    rep.wait_for_url("**/contacts/*")
    card = rep.locator("main")
    expect(card).to_contain_text(f"Irina Volkova {unique}")
    expect(card).to_contain_text(f"site-{unique}")  # the source
    expect(card).to_contain_text("yandex")  # UTM source on the card
    expect(card).to_contain_text(f"winter{unique}")  # UTM campaign
    expect(card).to_contain_text("Please call me about the winter offer")
    contact_url = rep.url

    # lead.received became a deal in the form's pipeline and stage, owned by the rep.
    rep.goto(f"/funnel/pipelines/{pipeline}")
    column = rep.locator("#board .funnel-col", has=rep.locator("h2", has_text="Call"))
    expect(column.locator(".deal-card", has_text=f"Call me back {unique}")).to_have_count(1)

    # The same person comes back another day and types the phone differently.
    visitor.goto(f"{site['url']}/offer.html")
    host = visitor.locator(f"[data-rapport-form-host='{form.key}']")
    host.get_by_label("Your name").fill(f"Irina Volkova {unique}")
    host.get_by_label("Phone").fill("8 (912) 555 01 23")
    host.get_by_label("Message").fill("Any news?")
    host.get_by_label("I agree to the processing of my personal data").check()
    host.get_by_role("button", name="Send").click()
    expect(host.get_by_role("status")).to_have_text("Thanks, we will call you.")

    async def matched():
        from rapport.api import contacts_by_phone, timeline

        refs = await contacts_by_phone("+79125550123")
        entries = await timeline(refs[0].id) if refs else []
        return refs, sum(1 for e in entries if e["kind"] == "form_submitted")

    # The thank-you text means the submission is stored; the server's worker makes it part of
    # the contact a moment later.
    deadline = time.monotonic() + 20
    refs, submitted = _in_server_db(settings, matched)
    while submitted < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        refs, submitted = _in_server_db(settings, matched)
    assert submitted == 2
    assert len(refs) == 1  # matched, not duplicated
    assert contact_url.endswith(f"/contacts/{refs[0].id}")
    rep.goto(contact_url)
    expect(rep.locator("main")).to_contain_text("Any news?")
    visitor.context.close()
