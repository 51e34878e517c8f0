"""``rapport plugin new NAME``: start a plugin distribution."""

from __future__ import annotations

from pathlib import Path

import click


def add_to(cli: click.Group) -> None:
    cli.add_command(plugin)


@click.group()
def plugin() -> None:
    """Tools for plugin authors."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write it (default ./rapport-NAME).",
)
def plugin_new(name: str, directory: Path | None) -> None:
    """Generate a plugin distribution NAME: a table with its migration, an event handler, a
    card panel, a setting, a template, a Russian catalog, a README and tests."""
    from rapport import __version__
    from rapport.scaffold import PluginNames, ScaffoldError, generate

    try:
        names = PluginNames.from_name(name)
        target = directory or Path.cwd() / names.dist
        generate(name, target, rapport_version=".".join(__version__.split(".")[:2]))
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"Created {names.dist} in {target}")
    click.echo(f"  cd {target} && pip install -e '.[test]' && pytest")
