"""Starting and stopping a Rapport process (web, worker, CLI or test)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rapport.db.current import use_engine
from rapport.db.engine import create_engine, start_engine, stop_engine
from rapport.plugins.registry import PluginRegistry
from rapport.runtime import Runtime, current, set_current
from rapport.settings import Settings

log = logging.getLogger(__name__)


async def start(
    settings: Settings,
    registry: PluginRegistry | None = None,
    migrate: bool = False,
    call_startup: bool = True,
    verbose_migrations: bool = False,
) -> Runtime:
    """Connect, load plugins, optionally migrate, apply the enabled set, call ``startup``.

    Migrating comes before anything reads the database, so a brand-new one works.
    """
    # Importing the core's Piccolo app defines every core table before they are bound.
    import rapport.piccolo_app  # noqa: F401

    registry = registry if registry is not None else PluginRegistry()
    for plugin in registry.installed.values():
        if plugin.manifest.piccolo_app:
            __import__(plugin.manifest.piccolo_app)
    engine = create_engine(settings.database_url)
    use_engine(engine)
    await start_engine(engine)
    runtime = Runtime(settings=settings, engine=engine, plugins=registry)
    set_current(runtime)
    runtime.refresh_declarations()
    if migrate:
        from rapport.db.migrate import migrate as run_migrations

        await run_migrations(verbose=verbose_migrations)
        from rapport.users.roles import grant_defaults

        await grant_defaults(list(runtime.permissions.values()))
    from rapport.plugins.state import sync

    await sync(force=True)
    if call_startup:
        await registry.call("startup", runtime=runtime)
    return runtime


@asynccontextmanager
async def running(settings: Settings | None = None) -> AsyncIterator[Runtime]:
    """Rapport started for a script or a plugin's CLI command, without ``startup`` hooks.

    ``async with running() as runtime: ...`` — settings default to the environment's.
    """
    from rapport.settings import load_settings

    runtime = await start(settings or load_settings(), call_startup=False)
    try:
        yield runtime
    finally:
        await stop()


async def stop() -> None:
    runtime = current()
    try:
        await runtime.plugins.call("shutdown", runtime=runtime)
    finally:
        await stop_engine(runtime.engine)
        set_current(None)
