"""The ``rapport`` command line."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from rapport.settings import Settings, SettingsError, load_settings


class Context:
    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.data_dir)
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._settings


pass_context = click.make_pass_decorator(Context)


def run_async(func: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Run an async click command body in its own event loop."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(func(*args, **kwargs))

    return wrapper


async def started(ctx: Context, migrate: bool = False):
    """Start Rapport for a command; the caller must ``await bootstrap.stop()``."""
    from rapport import bootstrap

    return await bootstrap.start(ctx.settings, migrate=migrate, call_startup=False)


@click.group()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RAPPORT_DATA_DIR",
    help="Where the SQLite file, the secret key and rapport.toml live (default ./rapport-data).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug output.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, verbose: bool) -> None:
    """Rapport: the plugin-based CRM."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Context(data_dir)


def _add_commands() -> None:
    from rapport.cli import admin_commands, demo_commands, run_commands, scaffold_commands

    for module in (admin_commands, run_commands, demo_commands, scaffold_commands):
        module.add_to(cli)
    # Installed plugins may add their own groups; a broken plugin must not break the CLI.
    from rapport.plugins.registry import PluginRegistry

    registry = PluginRegistry()
    for plugin in registry.installed.values():
        try:
            registry.collect_from([plugin.module], "register_commands", cli=cli)
        except Exception as exc:  # noqa: BLE001
            logging.getLogger(__name__).warning(
                "plugin %s: register_commands failed: %s", plugin.name, exc
            )


def main() -> None:
    _add_commands()
    cli()
