"""``rapport demo``: a data directory with realistic demo data, then serve it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from rapport.cli import Context, started


def add_to(cli: click.Group) -> None:
    cli.add_command(demo)


async def _fill(ctx: Context, people: int) -> str:
    from rich.progress import Progress

    from rapport import bootstrap
    from rapport.contacts.tables import Contact
    from rapport.demo.generate import generate_demo

    await started(ctx, migrate=True)
    try:
        if await Contact.count() > 0:
            return "Demo data is there already; serving it."
        with Progress() as bar:
            task = bar.add_task("Generating demo clients", total=people)
            summary = await generate_demo(
                people, progress=lambda done, total: bar.update(task, completed=done)
            )
        return (
            f"Created {summary.people} people, {summary.companies} companies, "
            f"{summary.activities} activities, {summary.users} users."
        )
    finally:
        await bootstrap.stop()


@click.command()
@click.option("--people", default=300, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only create the data.")
@click.pass_context
def demo(click_ctx: click.Context, people: int, host: str, port: int, no_serve: bool) -> None:
    """Create demo data (in ./rapport-demo unless --data-dir is given) and serve it."""
    from rapport.demo.generate import DEMO_EMAIL, DEMO_PASSWORD

    ctx: Context = click_ctx.obj
    if ctx.data_dir is None:
        ctx.data_dir = Path("rapport-demo")
    click.echo(asyncio.run(_fill(ctx, people)))
    click.echo(f"Data directory: {ctx.settings.data_dir}")
    click.echo(f"Sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")
    if no_serve:
        return
    from rapport.cli.run_commands import serve_app

    click.echo(f"Rapport is at http://{host}:{port}/")
    serve_app(ctx, host, port, 1, True)
