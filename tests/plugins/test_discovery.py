"""Discovery and quarantine: a plugin that cannot load is set aside with its reason, and the
rest of the instance still starts.

``rapport-broken`` and ``rapport-needy`` (``tests/fixtures/plugins``) are made discoverable
through real entry points for one test at a time by the ``fixture_plugins`` fixture.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from rapport import bootstrap
from rapport.hookspecs import hookimpl
from rapport.plugins import state
from rapport.plugins.registry import PluginError, PluginRegistry
from rapport.plugins.tables import PluginState

BROKEN_REASON = (
    "failed to import: ModuleNotFoundError: No module named 'rapport_broken_missing_dependency'"
)
NEEDY_REASON = "requires nonexistent_plugin, which is not installed or not loadable"


def test_broken_and_needy_plugins_are_quarantined_and_the_others_load(fixture_plugins):
    fixture_plugins("rapport-broken", "rapport-needy")

    registry = PluginRegistry()

    assert registry.quarantined["broken"].reason == BROKEN_REASON
    assert "rapport_broken/plugin.py" in registry.quarantined["broken"].detail  # the traceback
    assert registry.quarantined["needy"].reason == NEEDY_REASON
    assert "broken" not in registry.installed and "needy" not in registry.installed
    assert registry.installed["hello"].manifest.title == "Hello"


def test_without_the_fixtures_nothing_is_quarantined():
    """The entry points of the fixture distributions do not leak out of their tests."""
    registry = PluginRegistry()
    assert "broken" not in registry.quarantined and "needy" not in registry.quarantined
    assert "hello" in registry.installed


async def test_the_instance_starts_and_works_beside_quarantined_plugins(
    fixture_plugins, rapport_settings
):
    fixture_plugins("rapport-broken", "rapport-needy")
    # "broken" was enabled once, when it still imported; the row is still there.
    runtime = await bootstrap.start(rapport_settings)
    try:
        await PluginState.insert(PluginState(name="broken", enabled=True))
        await state.sync(force=True)
        assert set(runtime.plugins.quarantined) >= {"broken", "needy"}
        assert not runtime.plugins.is_enabled("broken")

        assert await state.enable("hello") == ["hello"]
        from rapport.api import create_contact
        from rapport_hello.plugin import greetings_of

        anna = await create_contact({"first_name": "Anna", "emails": ["anna@example.com"]})
        assert len(await greetings_of(anna)) == 1
    finally:
        await bootstrap.stop()


async def test_enabling_a_quarantined_plugin_is_refused_with_the_reason(
    fixture_plugins, rapport_settings
):
    fixture_plugins("rapport-broken", "rapport-needy")
    await bootstrap.start(rapport_settings)
    try:
        with pytest.raises(PluginError) as broken:
            await state.enable("broken")
        assert str(broken.value) == f"plugin 'broken' is quarantined: {BROKEN_REASON}"
        with pytest.raises(PluginError) as needy:
            await state.enable("needy")
        assert str(needy.value) == f"plugin 'needy' is quarantined: {NEEDY_REASON}"
        with pytest.raises(PluginError, match="plugin 'broken' is quarantined"):
            await state.disable("broken")
        with pytest.raises(PluginError, match="plugin 'no_such_plugin' is not installed"):
            await state.enable("no_such_plugin")
        assert await PluginState.count() == 0  # nothing was recorded
    finally:
        await bootstrap.stop()


def test_a_plugin_for_another_api_major_version_is_refused(make_plugin):
    registry = PluginRegistry(discover=False)
    registry.add(make_plugin("future", api_version="2.0"))
    registry.add(make_plugin("later_minor", api_version="1.9"))
    registry.add(make_plugin("on_future", requires=("future",)))

    assert (
        registry.quarantined["future"].reason == "targets plugin API 2.0, this Rapport offers 1.0"
    )
    assert "later_minor" in registry.installed  # a newer minor version of the same major is fine
    assert registry.quarantined["on_future"].reason == (
        "requires future (targets plugin API 2.0, this Rapport offers 1.0), "
        "which is not installed or not loadable"
    )
    refused = re.escape("plugin 'future' is quarantined: targets plugin API 2.0")
    with pytest.raises(PluginError, match=refused):
        registry.with_requirements("future")


def test_misspelt_hooks_bad_names_and_missing_manifests_are_refused(make_plugin):
    @hookimpl
    def handle_evnet(event, meta):
        """A typo: no such hook."""

    registry = PluginRegistry(discover=False)
    registry.add(make_plugin("typo", handle_evnet))
    registry.add(make_plugin("Bad-Name"))
    no_manifest = make_plugin("no_manifest")
    del no_manifest.manifest
    registry.add(no_manifest, name="no_manifest")

    assert registry.quarantined["typo"].reason == "implements unknown hooks: handle_evnet"
    assert "must be lower-case letters" in registry.quarantined["Bad-Name"].reason
    assert registry.quarantined["no_manifest"].reason == (
        "has no `manifest = Manifest(...)` at module level"
    )
    assert registry.installed == {}


def test_a_requirement_cycle_is_refused_when_enabling(make_plugin):
    registry = PluginRegistry(discover=False)
    # As discovery does: admit every entry point first, then check requirements.
    for module in (
        make_plugin("chicken", requires=("egg",)),
        make_plugin("egg", requires=("chicken",)),
    ):
        registry._admit(module.manifest.name, module, None)
    registry._check_requirements()
    assert set(registry.installed) == {"chicken", "egg"}
    with pytest.raises(PluginError, match="circular requirement: chicken → egg → chicken"):
        registry.with_requirements("chicken")


def test_plugins_list_shows_quarantined_plugins_with_their_reason(
    fixture_plugins, rapport_settings
):
    import rapport.cli

    fixture_plugins("rapport-broken", "rapport-needy")
    rapport.cli._add_commands()
    result = CliRunner().invoke(
        rapport.cli.cli,
        ["--data-dir", str(rapport_settings.data_dir), "plugins", "list"],
        env={"RAPPORT_DATABASE_URL": rapport_settings.database_url},
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(
        line.startswith("QUARANTINED") and " broken " in line and BROKEN_REASON in line
        for line in lines
    ), result.output
    assert any(
        line.startswith("QUARANTINED") and " needy " in line and NEEDY_REASON in line
        for line in lines
    ), result.output
    assert any(line.startswith("disabled") and " hello " in line for line in lines), result.output
