"""The UI hooks, seen in real pages: a plugin's menu items, card panels and actions, dashboard
widgets, style sheets, scripts, templates and translations appear for signed-in users while
the plugin is enabled, and a plugin whose contribution raises cannot break a page.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from litestar import Request, get
from litestar.response import Template
from markupsafe import escape
from rapport import bootstrap
from rapport.api import (
    CardPanel,
    ContactAction,
    DashboardWidget,
    MenuItem,
    create_contact,
)
from rapport.hookspecs import hookimpl
from rapport.plugins import state
from rapport.plugins.registry import PluginRegistry

PLUGIN_MESSAGE = "Greetings of the day"
PLUGIN_MESSAGE_RU = "Приветствия дня"


def _plugin_files(root: Path) -> tuple[Path, Path]:
    templates = root / "templates"
    (templates / "uikit").mkdir(parents=True)
    (templates / "uikit" / "page.html").write_text(
        '{% extends "base.html" %}{% block content %}'
        '<p id="uikit-text">{{ _("Greetings of the day") }}</p>{% endblock %}'
    )
    catalog = root / "locale" / "ru" / "LC_MESSAGES"
    catalog.mkdir(parents=True)
    (catalog / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        f'msgid "{PLUGIN_MESSAGE}"\nmsgstr "{PLUGIN_MESSAGE_RU}"\n',
        encoding="utf-8",
    )
    (root / "static").mkdir()
    (root / "static" / "uikit.js").write_text("window.uikit = 'loaded';\n")
    return templates, root / "locale"


def _uikit(make_plugin, templates: Path, locale: Path):
    @get("/uikit/page")
    async def uikit_page(request: Request) -> Template:
        from rapport.web.rendering import page  # the layout's context: menu, user, language

        return await page(request, "uikit/page.html")

    @hookimpl
    def register_routes():
        return [uikit_page]

    @hookimpl
    def register_template_dirs():
        return [templates]

    @hookimpl
    def register_translations():
        return [locale]

    @hookimpl
    def register_static_dirs():
        return [templates.parent / "static"]

    @hookimpl
    def menu_items(request):
        return [
            MenuItem("Greetings", "/uikit/page", order=35, key="uikit"),
            MenuItem("Secret", "/uikit/secret", permission="uikit.secret", key="uikit-secret"),
        ]

    @hookimpl
    async def contact_card_panels(contact, request):
        return [CardPanel("Greeting", f"<p id='uikit-panel'>Hi {escape(contact['name'])}</p>")]

    @hookimpl
    def contact_actions(contact, request):
        return [ContactAction("Wave", f"/uikit/wave/{contact['id']}", method="POST", key="wave")]

    @hookimpl
    async def dashboard_widgets(request):
        return [DashboardWidget("Uikit", "<p id='uikit-widget'>widget body</p>", key="uikit")]

    @hookimpl
    def extra_css_urls(request):
        return ["/uikit/static/uikit.css"]

    @hookimpl
    def extra_js_urls(request):
        return ["/uikit/static/uikit.js"]

    return make_plugin(
        "uikit",
        register_routes,
        register_template_dirs,
        register_translations,
        register_static_dirs,
        menu_items,
        contact_card_panels,
        contact_actions,
        dashboard_widgets,
        extra_css_urls,
        extra_js_urls,
    )


def _faulty(make_plugin):
    """A plugin whose every UI contribution raises."""

    @hookimpl
    def menu_items(request):
        raise RuntimeError("menu bug")

    @hookimpl
    def contact_card_panels(contact, request):
        raise RuntimeError("panel bug")

    @hookimpl
    async def contact_actions(contact, request):
        raise RuntimeError("action bug")

    @hookimpl
    def dashboard_widgets(request):
        raise RuntimeError("widget bug")

    @hookimpl
    def extra_css_urls(request):
        raise RuntimeError("css bug")

    @hookimpl
    def extra_js_urls(request):
        raise RuntimeError("js bug")

    return make_plugin(
        "faulty_ui",
        menu_items,
        contact_card_panels,
        contact_actions,
        dashboard_widgets,
        extra_css_urls,
        extra_js_urls,
    )


@pytest.fixture
async def ui(rapport_settings, tmp_path, make_plugin):
    """A started instance with the uikit and faulty_ui plugins installed, a signed-in staff
    user whose language is Russian, and a contact; the app runs in the test's event loop."""
    from rapport.users.accounts import create_user
    from rapport.web.app import create_app

    templates, locale = _plugin_files(tmp_path / "uikit")
    registry = PluginRegistry()
    registry.add(_uikit(make_plugin, templates, locale))
    registry.add(_faulty(make_plugin))
    app = create_app(rapport_settings, registry)
    await bootstrap.start(rapport_settings, registry)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local"
        ) as client:
            await create_user("staff@example.com", "Staff", "password-123", "staff", language="ru")
            login = await client.get("/login")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
            signed_in = await client.post(
                "/login",
                data={
                    "email": "staff@example.com",
                    "password": "password-123",
                    "_csrf_token": token,
                },
                follow_redirects=False,
            )
            assert signed_in.status_code in (302, 303), signed_in.text
            contact_id = await create_contact({"first_name": "Anna", "emails": ["a@example.com"]})
            yield client, contact_id
    finally:
        await bootstrap.stop()
        # Catalog directories are kept for the life of the process: forget this test's one.
        from rapport.web import i18n

        if locale in i18n._extra_dirs:
            i18n._extra_dirs.remove(locale)
            i18n.translations.cache_clear()


async def _get(client: httpx.AsyncClient, url: str) -> str:
    response = await client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:500])
    return response.text


async def test_hook_menu_items(ui):
    client, _contact = ui
    assert 'data-menu="uikit"' not in await _get(client, "/my-day")  # installed, not enabled

    await state.enable("uikit")
    await state.enable("faulty_ui")  # its menu_items raises: left out, the page still renders
    page = await _get(client, "/my-day")
    assert re.search(r'<a href="/uikit/page" data-menu="uikit"[^>]*>Greetings</a>', page)
    assert "/uikit/secret" not in page  # staff lacks uikit.secret
    assert 'data-menu="contacts"' in page  # the core's items are there too

    await state.disable("uikit")
    assert 'data-menu="uikit"' not in await _get(client, "/my-day")


async def test_hook_contact_card_panels(ui):
    client, contact_id = ui
    assert "uikit-panel" not in await _get(client, f"/contacts/{contact_id}")
    await state.enable("uikit")
    await state.enable("faulty_ui")
    card = await _get(client, f"/contacts/{contact_id}")
    assert "<p id='uikit-panel'>Hi Anna</p>" in card
    assert "slot-error" in card and "faulty_ui" in card  # the failing panel is an error box


async def test_hook_contact_actions(ui):
    client, contact_id = ui
    await state.enable("uikit")
    card = await _get(client, f"/contacts/{contact_id}")
    form = re.search(
        rf'<form method="post" action="/uikit/wave/{contact_id}".*?</form>', card, re.S
    )
    assert form and 'data-action="wave"' in form.group(0)
    assert "csrf" in form.group(0).lower()  # POST actions carry the CSRF token
    await state.enable("faulty_ui")
    assert "slot-error" in await _get(client, f"/contacts/{contact_id}")


async def test_hook_dashboard_widgets(ui):
    client, _contact = ui
    await state.enable("uikit")
    await state.enable("faulty_ui")
    page = await _get(client, "/my-day")
    assert "<p id='uikit-widget'>widget body</p>" in page
    assert "slot-error" in page  # faulty_ui's widget


async def test_hook_extra_css_urls(ui):
    client, _contact = ui
    assert "/uikit/static/uikit.css" not in await _get(client, "/my-day")
    await state.enable("uikit")
    await state.enable("faulty_ui")
    assert '<link rel="stylesheet" href="/uikit/static/uikit.css">' in await _get(client, "/my-day")


async def test_hook_extra_js_urls(ui):
    client, _contact = ui
    await state.enable("uikit")
    await state.enable("faulty_ui")
    page = await _get(client, "/my-day")
    assert '<script src="/uikit/static/uikit.js" defer></script>' in page


async def test_hook_register_template_dirs(ui):
    client, _contact = ui
    await state.enable("uikit")
    page = await _get(client, "/uikit/page")
    assert '<p id="uikit-text">' in page
    assert 'data-menu="uikit"' in page  # the plugin's template extends the layout


async def test_hook_register_translations(ui):
    client, _contact = ui
    await state.enable("uikit")
    page = await _get(client, "/uikit/page")
    # The user reads Russian: the plugin's message comes from the plugin's catalog...
    assert f'<p id="uikit-text">{PLUGIN_MESSAGE_RU}</p>' in page
    # ...while the core's own messages still come from the core's.
    assert 'aria-label="Главное меню"' in page and ">Контакты</a>" in page


async def test_hook_register_static_dirs(ui):
    client, _contact = ui
    url = "/static/plugins/uikit/uikit.js"
    assert (await client.get(url)).status_code == 404  # installed, not enabled
    await state.enable("uikit")
    client.cookies.clear()  # the files need no sign-in, like the core's
    served = await client.get(url)
    assert served.status_code == 200
    assert served.text == "window.uikit = 'loaded';\n"
    assert "javascript" in served.headers["content-type"]
    assert (await client.get("/static/plugins/uikit/missing.js")).status_code == 404
    await state.disable("uikit")
    assert (await client.get(url)).status_code == 404


async def test_hook_resolve_subject_links(ui, make_plugin):
    from rapport.api import SubjectLink, log_activity
    from rapport.runtime import current

    client, contact_id = ui
    asked: list[tuple[str, list[str]]] = []

    @hookimpl
    async def resolve_subject_links(subject_type, subject_ids):
        asked.append((subject_type, subject_ids))
        if subject_type == "order":
            # Order 9 is gone: left out of the answer, its entry shows no link.
            return {i: SubjectLink(f"Order №{i}", f"/orders/{i}") for i in subject_ids if i != "9"}
        if subject_type == "broken":
            raise RuntimeError("resolver bug")
        return None

    current().plugins.add(make_plugin("orders", resolve_subject_links))
    for order in ("7", "7", "8", "9"):
        await log_activity(contact_id, "note", body=f"about {order}", subject_type="order",
                           subject_id=order)
    await log_activity(contact_id, "note", body="about a broken one", subject_type="broken",
                       subject_id="1")
    await log_activity(contact_id, "note", body="about nothing")

    card = await _get(client, f"/contacts/{contact_id}")
    assert "activity-subject" not in card  # the plugin is disabled: no links
    assert asked == []

    await state.enable("orders")
    card = await _get(client, f"/contacts/{contact_id}")
    assert card.count('<a class="activity-subject" href="/orders/7">Order №7</a>') == 2
    assert card.count('<a class="activity-subject" href="/orders/8">Order №8</a>') == 1
    assert "/orders/9" not in card and "about 9" in card
    assert "about a broken one" in card  # a failing resolver leaves the entry unlinked
    # One call per subject type for the whole page, every id of the type at once.
    assert sorted(asked) == [("broken", ["1"]), ("order", ["7", "8", "9"])]
