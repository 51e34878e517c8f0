"""Plugins mount API resources and declare API scopes through hooks."""

import pytest
from rapport.api import create_contact
from rapport.plugins import state
from rapport.rest.scopes import available_scopes


@pytest.mark.enable("hello")
async def test_hook_register_api_routes(rapport, api_client):
    reader = await api_client.new(scopes=["hello:read"])
    anna = await create_contact({"first_name": "Anna", "emails": ["anna@example.com"]})

    answer = await reader.get(f"/api/v1/hello/contacts/{anna}/greetings")
    assert answer.status_code == 200
    body = answer.json()
    assert [g["contact_id"] for g in body["data"]] == [anna]
    assert "Anna" in body["data"][0]["text"] and body["next_cursor"] is None

    anonymous = await reader.get(
        f"/api/v1/hello/contacts/{anna}/greetings", headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"

    no_scope = await api_client.new(scopes=["contacts:read"])
    refused = await no_scope.get(f"/api/v1/hello/contacts/{anna}/greetings")
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:rapport:problem:missing-scope"
    assert "hello:read" in refused.json()["detail"]

    await state.disable("hello")  # no restart: the mounted routes answer 404
    gone = await reader.get(f"/api/v1/hello/contacts/{anna}/greetings")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["status"] == 404

    schema = (await reader.get("/api/v1/openapi.json")).json()
    operation = schema["paths"]["/api/v1/hello/contacts/{contact_id}/greetings"]["get"]
    assert operation["operationId"] == "listHelloGreetings"
    assert "application/problem+json" in operation["responses"]["404"]["content"]


@pytest.mark.enable("hello")
async def test_hook_register_api_scopes(rapport, api_client):
    names = {s.name for s in available_scopes()}
    assert {"hello:read", "contacts:read", "contacts:write", "users:read"} <= names

    await state.disable("hello")
    assert "hello:read" not in {s.name for s in available_scopes()}
    from rapport.rest.tokens import TokenError, create_token

    with pytest.raises(TokenError) as refused:
        await create_token(1, "greetings", ["hello:read"])
    assert "hello:read" in refused.value.errors["scopes"]


def test_a_plugin_whose_api_routes_fail_is_left_out(rapport_settings, caplog):
    import types

    from rapport.hookspecs import hookimpl
    from rapport.plugins.manifest import Manifest
    from rapport.plugins.registry import PluginRegistry
    from rapport.web.app import create_app

    module = types.ModuleType("rapport_test_broken_api")
    module.manifest = Manifest(name="broken_api", title="Broken API", version="1.0")

    @hookimpl
    def register_api_routes():
        raise RuntimeError("cannot build my routes")

    module.register_api_routes = register_api_routes
    registry = PluginRegistry(discover=False)
    registry.add(module)
    app = create_app(rapport_settings, registry)  # the app still builds
    paths = {route.path for route in app.routes}
    assert "/api/v1/contacts" in paths
    assert "broken_api: register_api_routes failed" in caplog.text
