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
        await state.enable("routes_demo")
        opened = await client.get("/routes-demo/open")
        assert opened.json() == {"hello": "world"}
        private = await client.get("/routes-demo/private")
        assert private.status_code == 401 and "secret" not in private.text
        await state.disable("routes_demo")
        assert (await client.get("/routes-demo/open")).status_code == 404
