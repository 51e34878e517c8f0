"""``rapport init | migrate | user create | plugins … | preset …``."""

from __future__ import annotations

import click

from rapport.cli import Context, pass_context, run_async, started


def add_to(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(migrate)
    cli.add_command(user)
    cli.add_command(plugins)
    cli.add_command(preset)


@click.command()
@pass_context
@run_async
async def init(ctx: Context) -> None:
    """Create the data directory, the secret key and the database schema."""
    from rapport import bootstrap

    await started(ctx, migrate=True)
    await bootstrap.stop()
    click.echo(f"Initialised {ctx.settings.data_dir} ({_safe_url(ctx.settings.database_url)})")


@click.command()
@click.option("--verbose", is_flag=True, help="Show each migration as it runs.")
@pass_context
@run_async
async def migrate(ctx: Context, verbose: bool) -> None:
    """Run the pending migrations of the core and of every installed plugin."""
    from rapport import bootstrap
    from rapport.db.migrate import MigrationError

    try:
        runtime = await bootstrap.start(
            ctx.settings, migrate=True, call_startup=False, verbose_migrations=verbose
        )
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    await bootstrap.stop()
    apps = ["core"] + sorted(
        p.name for p in runtime.plugins.installed.values() if p.manifest.piccolo_app
    )
    click.echo(f"Migrated: {', '.join(apps)}")


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    from urllib.parse import urlparse, urlunparse

    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return urlunparse(parsed._replace(netloc=netloc))
    return url


@click.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice(["admin", "manager", "staff"]), default="staff")
@click.option("--language", default=None)
@click.password_option(help="Asked for when not given.")
@pass_context
@run_async
async def user_create(
    ctx: Context, email: str, name: str, role: str, language: str | None, password: str
) -> None:
    """Create a user who can sign in."""
    from rapport import bootstrap
    from rapport.users.accounts import UserError, create_user

    await started(ctx, migrate=True)
    try:
        created = await create_user(
            email=email, name=name or email, password=password, role=role, language=language
        )
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        await bootstrap.stop()
    click.echo(f"Created {role} {created['email']} (id {created['id']})")


@click.group()
def plugins() -> None:
    """List, enable and disable plugins."""


@plugins.command("list")
@pass_context
@run_async
async def plugins_list(ctx: Context) -> None:
    """Installed plugins, whether each is enabled, and quarantined ones with their error."""
    from rapport import bootstrap

    runtime = await started(ctx, migrate=True)
    registry = runtime.plugins
    await bootstrap.stop()
    if not registry.installed and not registry.quarantined:
        click.echo("No plugins installed.")
    for name, plugin in sorted(registry.installed.items()):
        mark = "enabled " if name in registry.enabled else "disabled"
        click.echo(f"{mark}  {name:<20} {plugin.manifest.version:<10} {plugin.manifest.title}")
    for name, problem in sorted(registry.quarantined.items()):
        click.echo(f"QUARANTINED  {name:<16} {problem.reason}")


@plugins.command("enable")
@click.argument("name")
@pass_context
@run_async
async def plugins_enable(ctx: Context, name: str) -> None:
    """Enable a plugin (and the plugins it requires)."""
    from rapport import bootstrap
    from rapport.plugins import state
    from rapport.plugins.registry import PluginError

    await started(ctx, migrate=True)
    try:
        new = await state.enable(name)
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        await bootstrap.stop()
    click.echo(f"Enabled: {', '.join(new)}" if new else f"{name} was already enabled")


@plugins.command("disable")
@click.argument("name")
@pass_context
@run_async
async def plugins_disable(ctx: Context, name: str) -> None:
    """Disable a plugin; its data stays."""
    from rapport import bootstrap
    from rapport.plugins import state
    from rapport.plugins.registry import PluginError

    await started(ctx, migrate=True)
    try:
        await state.disable(name)
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        await bootstrap.stop()
    click.echo(f"Disabled {name}")


@click.group()
def preset() -> None:
    """Business-type presets."""


@preset.command("list")
@pass_context
@run_async
async def preset_list(ctx: Context) -> None:
    """The presets and the plugins each enables."""
    from rapport import bootstrap
    from rapport.plugins.presets_service import available_presets

    runtime = await started(ctx, migrate=True)
    presets = available_presets(runtime.plugins)
    await bootstrap.stop()
    for item in presets.values():
        plugins_text = ", ".join(item.plugins) or "(core only)"
        click.echo(f"{item.name:<10} {item.title}: {plugins_text}")


@preset.command("apply")
@click.argument("name")
@pass_context
@run_async
async def preset_apply(ctx: Context, name: str) -> None:
    """Enable every plugin of a preset in one step."""
    from rapport import bootstrap
    from rapport.plugins.presets_service import PresetError, apply_preset

    await started(ctx, migrate=True)
    try:
        result = await apply_preset(name)
    except PresetError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        await bootstrap.stop()
    click.echo(f"Applied {name}: enabled {', '.join(result.enabled) or 'nothing new'}")
    if result.missing:
        click.echo(f"Not installed, skipped: {', '.join(result.missing)}")
