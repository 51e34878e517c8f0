"""The admin area in a real browser against a running server: switching a plugin on and off
takes effect on the next page without a restart, and the business-type wizard greets the first
admin visit.

The server is a separate ``rapport serve`` process with the plugins installed in this
environment; the plugin switched here is the example plugin ``hello``
(``docs/examples/rapport-hello``). Its route ``/hello/<contact id>`` answers 200 while it is
enabled and 404 while it is not; if it contributes a menu item, that is checked too.
"""

from __future__ import annotations

import importlib

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests: playwright is not installed")
from playwright.sync_api import expect


def _hello_has_menu_item() -> bool:
    try:
        module = importlib.import_module("rapport_hello.plugin")
    except ImportError:
        return False
    return hasattr(module, "menu_items")


def _hello_route_status(page) -> int:
    """The plugin's route through the signed-in browser session (same cookies)."""
    return page.request.get("/hello/1", headers={"accept": "application/json"}).status


def test_an_admin_enables_and_disables_a_plugin_and_it_follows_without_restart(new_page):
    page = new_page("admin")
    page.goto("/admin/plugins")
    card = page.locator('[data-plugin="hello"]')
    if card.count() == 0:
        pytest.skip("the example plugin rapport-hello is not installed here")
    menu_item = page.locator('[data-menu="hello"]')
    checks_menu = _hello_has_menu_item()

    expect(card).to_have_attribute("data-state", "disabled")
    assert _hello_route_status(page) == 404
    if checks_menu:
        expect(menu_item).to_have_count(0)

    card.get_by_role("button", name="Enable Hello").click()
    page.wait_for_url("**/admin/plugins?enabled=*")
    expect(page.get_by_role("status")).to_contain_text("Enabled: hello.")
    expect(card).to_have_attribute("data-state", "enabled")
    expect(card.locator(".badge")).to_have_text("Enabled")
    assert _hello_route_status(page) == 200
    if checks_menu:
        page.goto("/account")  # any other page: the menu is built per request
        expect(menu_item).to_be_visible()
        menu_item.click()  # the plugin's own page, rendered in the instance's layout
        expect(page.get_by_role("heading", name="Greetings")).to_be_visible()
        page.goto("/admin/plugins")

    card.get_by_role("button", name="Disable Hello").click()
    page.wait_for_url("**/admin/plugins?disabled=hello")
    expect(card).to_have_attribute("data-state", "disabled")
    assert _hello_route_status(page) == 404
    if checks_menu:
        page.goto("/account")
        expect(menu_item).to_have_count(0)


def test_the_first_admin_visit_opens_the_wizard_and_it_can_be_run_again(new_page):
    page = new_page("admin")
    page.goto("/admin")
    page.wait_for_url("**/admin/setup")
    expect(page.get_by_role("heading", level=1)).to_have_text("What kind of business is this?")
    for title in (
        "Retail and e-commerce",
        "B2B with a long sales cycle",
        "Services (salon, clinic, studio)",
        "Custom",
    ):
        expect(page.get_by_label(title)).to_be_visible()

    # A click anywhere on a card picks it, not only on the small radio button.
    page.locator('[data-preset="custom"]').click(position={"x": 200, "y": 60})
    expect(page.get_by_label("Custom")).to_be_checked()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Business type applied: Custom")

    page.get_by_role("link", name="Back to administration").click()
    page.wait_for_url("**/admin")
    expect(page.locator('[data-admin-card="setup"]')).to_contain_text("Now: Custom.")
    page.locator(".admin-nav").get_by_role("link", name="Business type").click()
    page.wait_for_url("**/admin/setup")
    expect(page.get_by_label("Custom")).to_be_checked()


def test_staff_are_refused_the_admin_area(new_page):
    page = new_page("staff")
    response = page.goto("/admin/plugins")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
