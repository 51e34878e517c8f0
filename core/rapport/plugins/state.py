"""Enabling and disabling plugins: recorded in the database, applied without a restart."""

from __future__ import annotations

import datetime as dt

from rapport.db.transaction import transaction
from rapport.events.bus import publish
from rapport.events.core_events import PluginDisabled, PluginEnabled
from rapport.plugins.registry import PluginError
from rapport.plugins.tables import PluginState
from rapport.runtime import current


async def enabled_in_database() -> set[str]:
    rows = await PluginState.select(PluginState.name).where(PluginState.enabled.eq(True))
    return {r["name"] for r in rows}


async def sync(force: bool = False) -> None:
    """Bring this process's registered plugins in line with the database.

    Called at the start of requests and worker ticks; reads the database at most once a
    second unless ``force``, so a change made by another process shows up within a second.
    """
    runtime = current()
    registry = runtime.plugins
    if not force and not registry.sync_due():
        return
    wanted = await enabled_in_database() & set(registry.installed)
    if wanted != registry.enabled:
        registry.set_enabled(wanted)
        runtime.refresh_declarations()
    registry.mark_synced()


async def _write_state(name: str, enabled: bool) -> None:
    now = dt.datetime.now(dt.UTC)
    exists = await PluginState.exists().where(PluginState.name == name)
    if exists:
        await PluginState.update({PluginState.enabled: enabled, PluginState.changed_at: now}).where(
            PluginState.name == name
        )
    else:
        await PluginState.insert(PluginState(name=name, enabled=enabled, changed_at=now))


async def enable(name: str, actor_id: int | None = None) -> list[str]:
    """Enable ``name`` and whatever it requires; return the plugins newly enabled.

    Each newly enabled plugin's ``plugin_enabled`` seeds its defaults in the same transaction:
    if seeding fails, nothing is enabled.
    """
    runtime = current()
    registry = runtime.plugins
    await sync(force=True)
    order = registry.with_requirements(name)
    new = [n for n in order if n not in registry.enabled]
    if not new:
        return []
    before = set(registry.enabled)
    try:
        async with transaction():
            registry.set_enabled(before | set(new))
            runtime.refresh_declarations()
            for plugin in new:
                await _write_state(plugin, True)
                await _seed_declarations(plugin)
                await registry.call("plugin_enabled", only=plugin, name=plugin)
                await publish(PluginEnabled(name=plugin), actor_id)
    except BaseException:
        registry.set_enabled(before)
        runtime.refresh_declarations()
        raise
    return new


async def disable(name: str, actor_id: int | None = None) -> None:
    runtime = current()
    registry = runtime.plugins
    await sync(force=True)
    if name not in registry.installed:
        raise PluginError(registry.unavailable_reason(name))
    if name not in registry.enabled:
        return
    dependents = registry.dependents(name, registry.enabled)
    if dependents:
        raise PluginError(
            f"cannot disable {name!r}: enabled plugins require it ({', '.join(dependents)}); "
            "disable them first"
        )
    before = set(registry.enabled)
    async with transaction():
        await _write_state(name, False)
        await registry.call("plugin_disabled", only=name, name=name)
        await publish(PluginDisabled(name=name), actor_id)
    registry.set_enabled(before - {name})
    runtime.refresh_declarations()


async def _seed_declarations(plugin: str) -> None:
    """Grant a newly enabled plugin's permissions and create its custom fields (once each)."""
    from rapport.contacts.custom_fields_store import declare_fields
    from rapport.users.roles import grant_defaults

    registry = current().plugins
    module = registry.installed[plugin].module
    await grant_defaults(registry.collect_from([module], "register_permissions"))
    await declare_fields(registry.collect_from([module], "register_custom_fields"), plugin)
