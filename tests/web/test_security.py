"""Security by default, checked over every route the app has (plugins' included)."""

import re
from pathlib import Path

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from rapport.plugins.registry import PluginRegistry
from rapport.web.app import create_app

THEMES = Path(__file__).resolve().parents[2] / "themes"


def _concrete(path: str) -> str:
    """``/contacts/{contact_id:int}`` → ``/contacts/1``."""
    return re.sub(
        r"\{[^}:]+(:int)?\}",
        "1",
        re.sub(r"\{[^}]+:str\}", "x", re.sub(r"\{[^}]+:path\}", "x", path)),
    )


def _handlers(app):
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                yield route.path, method, handler


async def _seed_admin(settings) -> None:
    from rapport import bootstrap
    from rapport.users.accounts import create_user

    await bootstrap.start(settings, call_startup=False)
    try:
        await create_user("csrf@example.com", "C", "password-123", "admin")
    finally:
        await bootstrap.stop()


@pytest.fixture
async def app_client(rapport_settings):
    # Seeded before the app starts: the app's loop runs in the client's thread.
    await _seed_admin(rapport_settings)
    app = create_app(rapport_settings, PluginRegistry())
    async with AsyncTestClient(app) as client:
        yield app, client


async def test_every_non_public_route_refuses_anonymous_requests(app_client):
    app, client = app_client
    checked = 0
    for path, method, handler in _handlers(app):
        if handler.opt.get("public") or method in {"HEAD", "OPTIONS"}:
            continue
        url = _concrete(path)
        headers = {"accept": "text/html"}
        response = await client.request(method, url, headers=headers, follow_redirects=False)
        if method == "GET":
            assert response.status_code in (302, 303, 401), (method, url, response.status_code)
            if response.status_code != 401:
                assert response.headers["location"].startswith("/login"), url
        else:
            # A state-changing request is refused either by CSRF (403) or by the login guard.
            assert response.status_code in (401, 403), (method, url, response.status_code)
        checked += 1
    assert checked >= 3


async def test_every_post_without_the_csrf_token_is_refused(app_client):
    app, client = app_client
    login_page = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', login_page.text).group(1)
    signed_in = await client.post(
        "/login",
        data={"email": "csrf@example.com", "password": "password-123", "_csrf_token": token},
        follow_redirects=False,
    )
    assert signed_in.status_code in (302, 303)
    checked = 0
    for path, method, handler in _handlers(app):
        if method not in {"POST", "PUT", "PATCH", "DELETE"}:
            continue
        if handler.opt.get("exclude_from_csrf"):
            continue
        response = await client.request(method, _concrete(path), data={"x": "1"})
        assert response.status_code == 403, (method, path, response.status_code)
        checked += 1
    assert checked >= 3


def test_templates_escape_by_default_and_mark_safe_only_trusted_html():
    from rapport.web.themes import discover_themes, template_environment

    environment = template_environment(discover_themes())
    assert environment.autoescape("page.html") is True
    allowed = {"panel.html", "card.html", "panels.html"}
    for template in THEMES.rglob("*.html"):
        text = template.read_text()
        for match in re.finditer(r"\|\s*safe", text):
            line = text[: match.start()].count("\n") + 1
            context = text[max(0, match.start() - 80) : match.end()]
            # Only plugin-rendered panel/widget HTML and slot error boxes may be marked safe.
            assert (
                re.search(r"(panel|widget|item|error)\.html", context) or template.name in allowed
            ), f"{template}:{line} marks something safe: {context!r}"
