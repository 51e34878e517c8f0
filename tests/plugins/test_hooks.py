"""One test per hook of ``rapport.hookspecs``: each shows the hook doing what its docstring
promises, through hello (the example plugin) or small plugins made in the test.

``tests/meta/test_hooks_contract.py`` checks that every hook has a ``test_hook_<name>``.
The worker's hooks (jobs, schedules, services, consumers) are tested in
``tests/core/test_worker_hooks.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from typing import ClassVar

import httpx
import pytest
from click.testing import CliRunner
from rapport import bootstrap
from rapport.activities.service import ActivityError
from rapport.api import (
    BusinessType,
    ContactCreated,
    ContactRef,
    CustomField,
    Event,
    ValidationError,
    create_contact,
    get_contact,
    log_activity,
    merge_contacts,
    resolve_caller,
    timeline,
    transaction,
)
from rapport.contacts.tables import CustomFieldDefinition
from rapport.db.transaction import in_transaction
from rapport.events.base import UnknownEvent
from rapport.events.bus import event_from_row
from rapport.events.tables import OutboxEvent
from rapport.hookspecs import hookimpl
from rapport.plugins import state
from rapport.plugins.presets_service import available_presets
from rapport.plugins.registry import PluginRegistry
from rapport.plugins.tables import PluginState
from rapport.runtime import DeclarationError, current
from rapport.users.roles import has_permission
from rapport.users.tables import RolePermission
from rapport_hello.plugin import HelloSent, greetings_of

hello = pytest.mark.enable("hello")


async def anna(**extra) -> int:
    return await create_contact({"first_name": "Anna", "emails": ["anna@example.com"], **extra})


# --- register_* ------------------------------------------------------------------------------


async def test_hook_register_event_types(rapport, make_plugin):
    assert "hello.sent" not in rapport.event_types
    await state.enable("hello")
    assert rapport.event_types["hello.sent"] is HelloSent
    assert rapport.event_types["contact.created"] is ContactCreated  # the core's, same hook

    contact_id = await anna()
    row = await OutboxEvent.select().where(OutboxEvent.type == "hello.sent").first()
    event, meta = event_from_row(row)
    assert isinstance(event, HelloSent) and event.contact_id == contact_id
    assert meta.key == f"contact:{contact_id}" and meta.version == 1

    # With the plugin off, its stored events are still readable, as unknown events.
    await state.disable("hello")
    unknown, _ = event_from_row(row)
    assert isinstance(unknown, UnknownEvent) and unknown.raw_type == "hello.sent"
    assert unknown.payload["text"] == event.text

    # A type that another plugin (here: the core) declares already is refused.
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class FakeCreated(Event):
        type: ClassVar[str] = "contact.created"

    @hookimpl
    def register_event_types():
        return [FakeCreated]

    rapport.plugins.add(make_plugin("copycat", register_event_types))
    twice = re.escape("event type 'contact.created' is declared twice")
    with pytest.raises(DeclarationError, match=twice):
        await state.enable("copycat")
    assert not rapport.plugins.is_enabled("copycat")
    assert rapport.event_types["contact.created"] is ContactCreated


async def test_hook_register_activity_kinds(rapport):
    contact_id = await anna()
    with pytest.raises(ActivityError) as unknown:
        await log_activity(contact_id, "greeting", body="Hi")
    assert unknown.value.errors == {"kind": "unknown activity kind 'greeting'"}

    await state.enable("hello")
    assert rapport.activity_kinds["greeting"].label == "Greeting"
    with pytest.raises(ActivityError) as wrong:
        await log_activity(contact_id, "greeting", payload={"greeting_id": "seven"})
    assert wrong.value.errors == {"payload.greeting_id": "must be int"}
    await log_activity(contact_id, "greeting", body="Hi", payload={"greeting_id": 7})
    assert [(a["kind"], a["body"]) for a in await timeline(contact_id)] == [("greeting", "Hi")]


async def test_hook_register_permissions(rapport):
    assert "hello.view" not in rapport.permissions
    assert not await RolePermission.exists().where(RolePermission.permission == "hello.view")

    await state.enable("hello")
    assert rapport.permissions["hello.view"].default_roles == ("admin", "manager", "staff")
    granted = await RolePermission.select(RolePermission.role).where(
        RolePermission.permission == "hello.view"
    )
    assert sorted(r["role"] for r in granted) == ["admin", "manager", "staff"]
    assert await has_permission("staff", "hello.view")

    await state.disable("hello")
    assert "hello.view" not in rapport.permissions  # no longer offered while disabled


async def test_a_revoked_default_grant_stays_revoked(rapport):
    await state.enable("hello")
    await RolePermission.delete().where(
        (RolePermission.permission == "hello.view") & (RolePermission.role == "staff")
    )
    await state.disable("hello")
    await state.enable("hello")
    assert not await has_permission("staff", "hello.view")


async def test_hook_register_custom_fields(rapport, make_plugin):
    @hookimpl
    def register_custom_fields():
        return [CustomField("loyalty_tier", "Loyalty tier", "choice", ("gold", "silver"))]

    rapport.plugins.add(make_plugin("tiers", register_custom_fields))
    with pytest.raises(ValidationError) as before:
        await anna(custom={"loyalty_tier": "gold"})
    assert before.value.errors == {"custom.loyalty_tier": "no such custom field"}

    await state.enable("tiers")
    definition = (
        await CustomFieldDefinition.select()
        .where(CustomFieldDefinition.key == "loyalty_tier")
        .first()
    )
    assert (definition["label"], definition["type"], definition["declared_by"]) == (
        "Loyalty tier",
        "choice",
        "tiers",
    )
    with pytest.raises(ValidationError) as wrong:
        await anna(custom={"loyalty_tier": "platinum"})
    assert wrong.value.errors == {"custom.loyalty_tier": "must be one of gold, silver"}
    contact_id = await anna(custom={"loyalty_tier": "gold"})
    assert (await get_contact(contact_id))["custom"] == {"loyalty_tier": "gold"}

    # Created once: an administrator's rename survives disabling and enabling again.
    await CustomFieldDefinition.update({CustomFieldDefinition.label: "Tier"}).where(
        CustomFieldDefinition.key == "loyalty_tier"
    )
    await state.disable("tiers")
    await state.enable("tiers")
    rows = await CustomFieldDefinition.select().where(CustomFieldDefinition.key == "loyalty_tier")
    assert [r["label"] for r in rows] == ["Tier"]


async def _sign_in(client: httpx.AsyncClient, email: str = "admin@example.com") -> None:
    from rapport.users.accounts import create_user

    await create_user(email, "Admin", "password-123", "admin")
    login = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
    response = await client.post(
        "/login",
        data={"email": email, "password": "password-123", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text


async def test_hook_register_routes(rapport_settings):
    from rapport.web.app import create_app

    # The instance is started in the test's own event loop and the app is called in that loop
    # too (PostgreSQL's connection pool belongs to one loop), so no lifespan is run here.
    registry = PluginRegistry()
    app = create_app(rapport_settings, registry)
    await bootstrap.start(rapport_settings, registry)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
        ) as client:
            anonymous = await client.get("/hello/1")
            assert anonymous.status_code == 401  # not declared public

            await _sign_in(client)
            assert (await client.get("/hello/1")).status_code == 404  # mounted, hello is off

            await state.enable("hello")  # no restart
            contact_id = await anna()
            response = await client.get(f"/hello/{contact_id}")
            assert response.status_code == 200
            body = response.json()
            assert body["contact_id"] == contact_id
            assert [g["text"] for g in body["greetings"]] == [
                g["text"] for g in await greetings_of(contact_id)
            ]
            assert "Anna" in body["greetings"][0]["text"]
            assert (await client.get("/hello/not-a-number")).status_code in (400, 404)

            await state.disable("hello")
            assert (await client.get(f"/hello/{contact_id}")).status_code == 404
    finally:
        await bootstrap.stop()


def test_hook_register_commands(rapport_settings):
    import rapport.cli

    async def two_greetings() -> None:
        await bootstrap.start(rapport_settings)
        try:
            await state.enable("hello")
            await anna()
            await create_contact({"first_name": "Boris", "phones": ["+7 912 000-00-01"]})
        finally:
            await bootstrap.stop()

    asyncio.run(two_greetings())
    rapport.cli._add_commands()
    runner = CliRunner()
    args = ["--data-dir", str(rapport_settings.data_dir)]
    env = {"RAPPORT_DATABASE_URL": rapport_settings.database_url}

    listed = runner.invoke(rapport.cli.cli, [*args, "--help"], env=env)
    assert re.search(r"^\s+hello\s+The hello example plugin", listed.output, re.M), listed.output
    counted = runner.invoke(rapport.cli.cli, [*args, "hello", "count"], env=env)
    assert counted.exit_code == 0, counted.output
    assert counted.output.strip() == "2 greetings"


async def test_hook_register_business_types(rapport, make_plugin):
    before = available_presets(rapport.plugins)

    @hookimpl
    def register_business_types():
        return [
            BusinessType("retail", "", plugins=("gift_cards",)),
            BusinessType("florist", "Florist", "Flower shops.", plugins=("gift_cards", "hello")),
        ]

    rapport.plugins.add(make_plugin("gift_cards", register_business_types))
    rapport.plugins.add(make_plugin("stamps", business_types=("retail", "services")))

    presets = available_presets(rapport.plugins)  # installed plugins count, enabled or not

    # Presets of the same name are merged: the core's title and plugins stay, others join.
    assert presets["retail"].title == before["retail"].title == "Retail and e-commerce"
    assert presets["retail"].plugins == (*before["retail"].plugins, "gift_cards", "stamps")
    assert presets["services"].plugins == (*before["services"].plugins, "stamps")
    assert presets["b2b"] == before["b2b"]
    assert presets["florist"] == BusinessType(
        "florist", "Florist", "Flower shops.", plugins=("gift_cards", "hello")
    )


# --- handle_event ----------------------------------------------------------------------------


@hello
async def test_hook_handle_event(rapport, make_plugin, caplog):
    seen: list[tuple[str, int]] = []

    @hookimpl
    def handle_event(event, meta):
        raise RuntimeError("handler bug")

    @hookimpl
    async def listen(event, meta):
        await asyncio.sleep(0)  # async implementations are awaited
        seen.append((event.type, meta.id))

    faulty = make_plugin("faulty", handle_event)
    listener = make_plugin("listener")
    listener.handle_event = listen
    for module in (faulty, listener):
        rapport.plugins.add(module)
        await state.enable(module.manifest.name)

    caplog.set_level(logging.ERROR, logger="rapport.events")
    seen.clear()  # the plugin.enabled events of the two plugins
    async with transaction():
        contact_id = await anna()
        assert seen == []  # nothing is dispatched before the commit
    created = await OutboxEvent.select().where(OutboxEvent.type == "contact.created").first()

    assert ("contact.created", created["id"]) in seen  # the other handlers still ran
    assert len(await greetings_of(contact_id)) == 1  # hello's too
    assert (await get_contact(contact_id))["name"] == "Anna"  # the change stays committed
    logged = f"handle_event of plugin 'faulty' failed on contact.created #{created['id']}"
    failures = [r for r in caplog.records if r.getMessage() == logged]
    assert len(failures) == 1 and failures[0].exc_info[1].args == ("handler bug",)


# --- resolve_caller --------------------------------------------------------------------------


@hello
async def test_hook_resolve_caller(rapport, make_plugin):
    anna_id = await anna(phones=["+7 912 345-67-89"])
    boris_id = await create_contact({"first_name": "Boris", "phones": ["+7 495 123-45-67"]})

    # hello answers None for every number: the core's default finds the contact, whatever the
    # format the number comes in.
    found = await resolve_caller("8 (912) 345 67 89")
    assert found == ContactRef(anna_id, "Anna", "person")
    assert (await resolve_caller("+79123456789")).id == anna_id
    assert await resolve_caller("+7 999 000-00-00") is None

    @hookimpl
    async def resolve_caller_impl(phone):
        if phone == "+79123456789":
            return ContactRef(-1, "Known to the switchboard", "person")
        return None

    switchboard = make_plugin("switchboard")
    switchboard.resolve_caller = resolve_caller_impl
    rapport.plugins.add(switchboard)
    await state.enable("switchboard")

    first = await resolve_caller("+79123456789")
    assert first == ContactRef(-1, "Known to the switchboard", "person")  # a plugin's answer wins
    assert (await resolve_caller("+74951234567")).id == boris_id  # None: the next one answers


# --- merge_contacts --------------------------------------------------------------------------


@hello
async def test_hook_merge_contacts(rapport, make_plugin, captured_events):
    winner = await anna()
    loser = await create_contact({"first_name": "Anna", "emails": ["anna.k@example.com"]})
    await merge_contacts(winner, loser)
    assert await greetings_of(loser) == []
    assert len(await greetings_of(winner)) == 2

    third = await create_contact({"first_name": "Anna", "emails": ["a.k@example.com"]})

    @hookimpl
    async def merge_contacts_impl(winner_id, loser_id):
        raise RuntimeError("cannot move the loyalty card")

    stubborn = make_plugin("stubborn")
    stubborn.merge_contacts = merge_contacts_impl
    rapport.plugins.add(stubborn)
    await state.enable("stubborn")
    captured_events.clear()

    with pytest.raises(RuntimeError, match="cannot move the loyalty card"):
        await merge_contacts(winner, third)

    # The whole merge was undone: nothing half moved.
    kept = await get_contact(third)
    assert not kept["archived"] and kept["merged_into"] is None
    assert len(await greetings_of(third)) == 1
    assert [e.type for e, _ in captured_events] == []


# --- lifecycle -------------------------------------------------------------------------------


async def test_hook_startup(rapport_settings, make_plugin):
    calls: list[tuple[object, int]] = []

    @hookimpl
    async def startup(runtime):
        # The database is reachable and the plugins are loaded.
        calls.append((runtime, await PluginState.count()))
        assert runtime.plugins.is_enabled("early_bird")

    module = make_plugin("early_bird", startup)

    def registry() -> PluginRegistry:
        plugins = PluginRegistry(discover=False)
        plugins.add(module)
        return plugins

    await bootstrap.start(rapport_settings, registry())
    try:
        assert calls == []  # installed but not enabled: not called
        await state.enable("early_bird")
        assert calls == []  # enabling is not starting
    finally:
        await bootstrap.stop()

    runtime = await bootstrap.start(rapport_settings, registry())
    await bootstrap.stop()
    assert calls == [(runtime, 1)]

    await bootstrap.start(rapport_settings, registry(), call_startup=False)  # e.g. a CLI command
    await bootstrap.stop()
    assert len(calls) == 1


async def test_hook_shutdown(rapport_settings, make_plugin):
    calls: list[tuple[str, object, int]] = []

    def recorder(tag: str):
        @hookimpl
        async def shutdown(runtime):
            calls.append((tag, runtime, await PluginState.count()))  # the database still works

        return shutdown

    on, off = make_plugin("night_owl", recorder("on")), make_plugin("sleeper", recorder("off"))
    registry = PluginRegistry(discover=False)
    registry.add(on)
    registry.add(off)
    runtime = await bootstrap.start(rapport_settings, registry)
    await state.enable("night_owl")
    await bootstrap.stop()

    assert calls == [("on", runtime, 1)]  # once, and only for the enabled plugin
    with pytest.raises(RuntimeError, match="not started"):
        current()


async def test_hook_plugin_enabled(rapport, make_plugin):
    calls: list[tuple[str, str, bool, bool]] = []

    def recorder(tag: str):
        @hookimpl
        async def plugin_enabled(name):
            row = await PluginState.select().where(PluginState.name == name).first()
            calls.append((tag, name, in_transaction(), row["enabled"]))

        return plugin_enabled

    rapport.plugins.add(make_plugin("alpha", recorder("alpha")))
    rapport.plugins.add(make_plugin("beta", recorder("beta"), requires=("alpha",)))

    await state.enable("alpha")
    # Only the enabled plugin's own implementation, inside the transaction that records it.
    assert calls == [("alpha", "alpha", True, True)]
    await state.enable("beta")  # alpha is on already: only beta's hook runs
    assert calls[1:] == [("beta", "beta", True, True)]

    await state.disable("beta")
    await state.enable("beta")  # enabling again calls it again: seeding must be idempotent
    assert calls[2:] == [("beta", "beta", True, True)]


async def test_hook_plugin_disabled(rapport, make_plugin, captured_events):
    calls: list[tuple[str, str]] = []

    def recorder(tag: str):
        @hookimpl
        def plugin_disabled(name):
            calls.append((tag, name))

        return plugin_disabled

    rapport.plugins.add(make_plugin("gamma", recorder("gamma")))
    rapport.plugins.add(make_plugin("delta", recorder("delta")))
    await state.enable("gamma")
    await state.enable("delta")
    await state.enable("hello")
    contact_id = await anna()

    await state.disable("gamma")
    assert calls == [("gamma", "gamma")]  # only the disabled plugin's own implementation
    disabled = [e for e, _ in captured_events if e.type == "plugin.disabled"]
    assert [e.name for e in disabled] == ["gamma"]

    await state.disable("hello")
    assert len(await greetings_of(contact_id)) == 1  # data stays
    assert not rapport.plugins.is_enabled("hello")
