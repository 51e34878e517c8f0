"""The web app: public pages answer, everything else needs a user, plugin routes follow the
enabled set without a restart."""

import types

from litestar import get
from litestar.testing import AsyncTestClient
from rapport.hookspecs import hookimpl
from rapport.plugins import state
from rapport.plugins.manifest import Manifest
from rapport.plugins.registry import PluginRegistry
from rapport.web.app import create_app


def _routes_plugin() -> types.ModuleType:
    module = types.ModuleType("rapport_test_routes")
    module.manifest = Manifest(name="routes_demo", title="Routes demo", version="1.0")

    @get("/routes-demo/open", opt={"public": True})
    async def open_page() -> dict:
        return {"hello": "world"}

    @get("/routes-demo/private")
    async def private_page() -> dict:
        return {"secret": 42}

    @hookimpl
    def register_routes():
        return [open_page, private_page]

    module.register_routes = register_routes
    return module


async def test_sign_in_health_and_static_files_are_public(rapport_settings):
    app = create_app(rapport_settings, PluginRegistry())
    async with AsyncTestClient(app) as client:
        home = await client.get("/", follow_redirects=False)
        assert home.headers["location"] == "/login"
        login = await client.get("/login")
        assert 'name="password"' in login.text
        assert "/static/rapport.css" in login.text
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
        assert login.headers["x-content-type-options"] == "nosniff"
        css = await client.get("/static/rapport.css")
        assert "--accent" in css.text
        health = await client.get("/healthz")
        assert health.json()["status"] == "ok"


async def test_plugin_routes_follow_enabled_state_and_need_login(rapport_settings):
    registry = PluginRegistry()
    registry.add(_routes_plugin())
    app = create_app(rapport_settings, registry)
    async with AsyncTestClient(app) as client:
        assert (await client.get("/routes-demo/open")).status_code == 404
        # The app's loop runs in the client's thread: database calls go through its portal.
        client.blocking_portal.call(state.enable, "routes_demo")
        opened = await client.get("/routes-demo/open")
        assert opened.json() == {"hello": "world"}
        private = await client.get("/routes-demo/private")
        assert private.status_code == 401 and "secret" not in private.text
        client.blocking_portal.call(state.disable, "routes_demo")
        assert (await client.get("/routes-demo/open")).status_code == 404


async def test_requires_permission_guards_a_plugin_route(rapport_settings):
    import re

    from rapport.api import requires_permission
    from rapport.users.accounts import create_user

    module = types.ModuleType("rapport_test_guarded")
    module.manifest = Manifest(name="guarded", title="Guarded", version="1.0")

    @get("/guarded/report", guards=[requires_permission("contacts.merge")])
    async def report() -> dict:
        return {"rows": 3}

    @hookimpl
    def register_routes():
        return [report]

    module.register_routes = register_routes
    registry = PluginRegistry()
    registry.add(module)
    app = create_app(rapport_settings, registry)
    async with AsyncTestClient(app) as client:
        portal = client.blocking_portal
        portal.call(state.enable, "guarded")
        for email, role in (("staff@example.com", "staff"), ("boss@example.com", "manager")):
            portal.call(create_user, email, role, "password-123", role)

        async def sign_in(email: str) -> None:
            page = await client.get("/login")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
            await client.post(
                "/login",
                data={"email": email, "password": "password-123", "_csrf_token": token},
            )

        await sign_in("staff@example.com")
        refused = await client.get("/guarded/report", headers={"accept": "application/json"})
        assert refused.status_code == 403 and "contacts.merge" in refused.text
        await sign_in("boss@example.com")
        assert (await client.get("/guarded/report")).json() == {"rows": 3}


def test_no_guard_or_handler_of_the_app_runs_in_a_thread(rapport_settings):
    # Litestar runs a plain-function guard or handler in a worker thread. On every request
    # that is two thread switches, and the loop's inline SQLite reads then wait for the GIL
    # behind the worker: a signed-in page paid about a millisecond for it.
    import inspect

    app = create_app(rapport_settings, PluginRegistry())
    seen = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for guard in handler.resolve_guards():
                seen += 1
                assert inspect.iscoroutinefunction(guard), (route.path, guard)
            runs_in_thread = handler.has_sync_callable and handler.sync_to_thread
            assert not runs_in_thread, (route.path, handler)
    assert seen > 50  # every route carries the login guard at least
