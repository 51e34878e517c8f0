"""The generic settings page of an enabled plugin: typed fields, messages next to the field,
values stored in the database and read back by ``plugin_setting`` over ``rapport.toml``."""

from __future__ import annotations

import types

from litestar.testing import AsyncTestClient
from rapport.api import plugin_setting
from rapport.plugins import state
from rapport.plugins.manifest import Manifest, SettingField
from rapport.plugins.registry import PluginRegistry
from rapport.testing import in_app, sign_in_as
from rapport.web.app import create_app


def _configurable() -> types.ModuleType:
    module = types.ModuleType("rapport_test_configurable")
    module.manifest = Manifest(
        name="configurable",
        title="Configurable",
        version="1.0",
        settings=(
            SettingField("greeting", "Greeting", default="Hi"),
            SettingField("limit", "Daily limit", type="number", default=10),
            SettingField("loud", "Shout", type="bool", default=False),
            SettingField("tone", "Tone", type="choice", default="warm", choices=("warm", "dry")),
        ),
    )
    return module


def _app(rapport_settings):
    registry = PluginRegistry(discover=False)
    registry.add(_configurable())
    settings = rapport_settings.with_overrides(extra={"configurable": {"limit": 25}})
    return create_app(settings, registry)


async def test_values_are_typed_validated_and_stored(rapport_settings):
    async with AsyncTestClient(_app(rapport_settings)) as client:
        user = await sign_in_as(client, "admin")
        assert (await client.get("/admin/plugins/configurable/settings")).status_code == 404
        in_app(client, lambda: state.enable("configurable"))
        plugins = await client.get("/admin/plugins")
        assert 'data-plugin-settings="configurable"' in plugins.text

        form = await client.get("/admin/plugins/configurable/settings")
        assert 'id="limit" name="limit" type="text" value="25"' in form.text  # rapport.toml
        assert "Without a value saved here: 25." in form.text

        refused = await client.post(
            "/admin/plugins/configurable/settings",
            data={
                "_csrf_token": user["csrf_token"],
                "greeting": "Hello",
                "limit": "many",
                "tone": "loud",
            },
        )
        assert refused.status_code == 400
        assert 'id="limit-error">Enter a number.' in refused.text
        assert 'id="tone-error">Pick one of the choices.' in refused.text
        assert 'value="Hello"' in refused.text  # what was typed is kept
        assert in_app(client, lambda: plugin_setting("configurable", "greeting")) == "Hi"

        saved = await client.post(
            "/admin/plugins/configurable/settings",
            data={
                "_csrf_token": user["csrf_token"],
                "greeting": "Hello",
                "limit": "7",
                "loud": "on",
                "tone": "dry",
            },
        )
        assert "Settings saved" in saved.text

        def read(key):
            return in_app(client, lambda: plugin_setting("configurable", key))

        assert (read("greeting"), read("limit"), read("loud"), read("tone")) == (
            "Hello",
            7,
            True,
            "dry",
        )


async def test_only_settings_managers_reach_it(rapport_settings):
    async with AsyncTestClient(_app(rapport_settings)) as client:
        in_app(client, lambda: state.enable("configurable"))
        user = await sign_in_as(client, "staff")
        assert (await client.get("/admin/plugins/configurable/settings")).status_code == 403
        response = await client.post(
            "/admin/plugins/configurable/settings",
            data={"_csrf_token": user["csrf_token"], "limit": "1"},
        )
        assert response.status_code == 403
        assert in_app(client, lambda: plugin_setting("configurable", "limit")) == 25
