"""Enabling and disabling plugins at run time, without a restart.

hello (``docs/examples/rapport-hello``) is installed in the test environment; whether its
``handle_event`` runs is seen in its table: every contact created while it is enabled gets a
greeting row.
"""

from __future__ import annotations

import datetime as dt

import pytest
from rapport.api import BusinessType, create_contact
from rapport.hookspecs import hookimpl
from rapport.plugins import state
from rapport.plugins.presets_service import PresetError, apply_preset
from rapport.plugins.registry import PluginError
from rapport.plugins.tables import InstanceSetting, PluginState
from rapport.users.tables import RolePermission
from rapport_hello.plugin import DEFAULT_PHRASES
from rapport_hello.tables import HelloGreeting, HelloPhrase

_made = 0


async def new_contact() -> int:
    global _made
    _made += 1
    return await create_contact(
        {"first_name": f"Client {_made}", "emails": [f"c{_made}@example.com"]}
    )


async def greeted(contact_id: int) -> bool:
    return await HelloGreeting.exists().where(HelloGreeting.contact_id == contact_id)


async def enabled_rows() -> dict[str, bool]:
    return {r["name"]: r["enabled"] for r in await PluginState.select()}


async def test_events_reach_a_plugin_only_while_it_is_enabled(rapport):
    assert not await greeted(await new_contact())

    assert await state.enable("hello") == ["hello"]
    assert rapport.plugins.is_enabled("hello")
    assert await greeted(await new_contact())

    await state.disable("hello")
    assert not rapport.plugins.is_enabled("hello")
    assert not await greeted(await new_contact())
    assert await enabled_rows() == {"hello": False}

    assert await state.enable("hello") == ["hello"]
    assert await state.enable("hello") == []  # already on: nothing to do
    assert await greeted(await new_contact())


async def test_a_change_made_by_another_process_is_picked_up(rapport):
    # Another process enabled hello: it wrote the row; this process has not looked yet.
    await PluginState.insert(
        PluginState(name="hello", enabled=True, changed_at=dt.datetime.now(dt.UTC))
    )
    assert not rapport.plugins.is_enabled("hello")
    await state.sync(force=True)
    assert rapport.plugins.is_enabled("hello")
    assert "hello.sent" in rapport.event_types  # its declarations are collected too
    assert await greeted(await new_contact())

    # ... and disabled it again.
    await PluginState.update({PluginState.enabled: False}).where(PluginState.name == "hello")
    await state.sync(force=True)
    assert not rapport.plugins.is_enabled("hello")
    assert "hello.sent" not in rapport.event_types
    assert not await greeted(await new_contact())


async def test_sync_reads_the_database_at_most_once_a_second_unless_forced(rapport):
    await state.sync(force=True)
    await PluginState.insert(
        PluginState(name="hello", enabled=True, changed_at=dt.datetime.now(dt.UTC))
    )
    await state.sync()  # within the interval: no read
    assert not rapport.plugins.is_enabled("hello")
    rapport.plugins._last_sync -= 2  # a second and more later
    await state.sync()
    assert rapport.plugins.is_enabled("hello")


async def test_enabling_a_plugin_enables_what_it_requires(rapport, make_plugin):
    seen: list[str] = []

    @hookimpl
    def handle_event(event, meta):
        seen.append(event.type)

    rapport.plugins.add(make_plugin("hello_fan", handle_event, requires=("hello",)))

    assert await state.enable("hello_fan") == ["hello", "hello_fan"]
    assert await enabled_rows() == {"hello": True, "hello_fan": True}
    assert await greeted(await new_contact())
    assert "contact.created" in seen and "hello.sent" in seen


async def test_disabling_a_plugin_that_another_enabled_plugin_requires_is_refused(
    rapport, make_plugin
):
    rapport.plugins.add(make_plugin("hello_fan", requires=("hello",)))
    await state.enable("hello_fan")

    with pytest.raises(PluginError) as refused:
        await state.disable("hello")
    assert str(refused.value) == (
        "cannot disable 'hello': enabled plugins require it (hello_fan); disable them first"
    )
    assert rapport.plugins.is_enabled("hello")
    assert await enabled_rows() == {"hello": True, "hello_fan": True}

    await state.disable("hello_fan")
    await state.disable("hello")  # now nothing needs it
    assert await enabled_rows() == {"hello": False, "hello_fan": False}


async def test_a_failing_plugin_enabled_hook_leaves_nothing_enabled(rapport, make_plugin):
    from rapport.api import Permission

    @hookimpl
    def register_permissions():
        return [Permission("grumpy.use", "Use grumpy", ("admin", "staff"))]

    @hookimpl
    async def plugin_enabled(name):
        await HelloPhrase.insert(HelloPhrase(text="Written before the failure, {name}"))
        raise RuntimeError("cannot seed")

    # grumpy requires hello: enabling it would enable hello first, in the same transaction.
    rapport.plugins.add(
        make_plugin("grumpy", register_permissions, plugin_enabled, requires=("hello",))
    )

    with pytest.raises(RuntimeError, match="cannot seed"):
        await state.enable("grumpy")

    assert rapport.plugins.enabled == set()
    assert "grumpy.use" not in rapport.permissions
    assert await enabled_rows() == {}
    assert await HelloPhrase.count() == 0  # hello's seeding was rolled back with it
    assert not await RolePermission.exists().where(RolePermission.permission == "grumpy.use")
    await state.sync(force=True)
    assert rapport.plugins.enabled == set()
    assert not await greeted(await new_contact())


async def test_enabling_again_seeds_nothing_twice(rapport):
    await state.enable("hello")
    grants = await RolePermission.count().where(RolePermission.permission == "hello.view")
    await state.disable("hello")
    await state.enable("hello")
    assert [r["text"] for r in await HelloPhrase.select(HelloPhrase.text)] == list(DEFAULT_PHRASES)
    assert await RolePermission.count().where(RolePermission.permission == "hello.view") == grants
    assert grants == 3  # admin, manager, staff


async def test_a_business_type_preset_enables_its_installed_plugins_and_reports_the_rest(
    rapport, make_plugin
):
    @hookimpl
    def register_business_types():
        return [
            BusinessType(
                "greeting_shop",
                "A shop that greets",
                plugins=("hello", "not_installed_anywhere", "preset_maker"),
            )
        ]

    rapport.plugins.add(make_plugin("preset_maker", register_business_types))

    result = await apply_preset("greeting_shop")

    assert result.enabled == ["hello", "preset_maker"]
    assert result.missing == ["not_installed_anywhere"]
    assert rapport.plugins.enabled == {"hello", "preset_maker"}
    assert await greeted(await new_contact())
    stored = await InstanceSetting.select().where(InstanceSetting.key == "business_type").first()
    assert stored["value"] == '"greeting_shop"'

    again = await apply_preset("greeting_shop")  # applying twice changes nothing
    assert again.enabled == [] and again.missing == ["not_installed_anywhere"]

    with pytest.raises(PresetError, match="no preset 'nope'; known: b2b, custom, greeting_shop"):
        await apply_preset("nope")
