"""Migrations of the core and of every installed plugin, in dependency order."""

from __future__ import annotations

import contextlib
import io

from piccolo.conf.apps import AppRegistry

from rapport.runtime import current


def app_registry() -> AppRegistry:
    apps = ["rapport.piccolo_app"]
    try:
        plugins = current().plugins
    except RuntimeError:
        plugins = None
    if plugins is not None:
        for plugin in sorted(plugins.installed.values(), key=lambda p: p.name):
            if plugin.manifest.piccolo_app:
                apps.append(plugin.manifest.piccolo_app)
    return AppRegistry(apps=apps)


class MigrationError(Exception):
    pass


async def migrate(verbose: bool = False) -> None:
    """Run every pending migration; Piccolo orders apps by their ``migration_dependencies``."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    out = io.StringIO()
    if verbose:
        result = await run_forwards(app_name="all")
    else:
        with contextlib.redirect_stdout(out):
            result = await run_forwards(app_name="all")
    if not result.success:
        raise MigrationError(f"{result.message}\n{out.getvalue()}")
