"""``rapport serve`` and ``rapport worker``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import click

from rapport.cli import Context, pass_context, run_async, started


def add_to(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(worker)


def serve_app(ctx: Context, host: str, port: int, workers: int, with_worker: bool) -> None:
    """Migrate, then run the web app; the background worker runs in process with one web
    worker, and as its own process beside several (so services start exactly once)."""
    import uvicorn

    from rapport import bootstrap
    from rapport.web.app import IN_PROCESS_WORKER_ENV

    async def prepare() -> None:
        await started(ctx, migrate=True)
        await bootstrap.stop()

    asyncio.run(prepare())
    os.environ["RAPPORT_DATA_DIR"] = str(ctx.settings.data_dir)
    os.environ[IN_PROCESS_WORKER_ENV] = "1" if (with_worker and workers == 1) else "0"
    side_worker = None
    if with_worker and workers > 1:
        side_worker = subprocess.Popen(
            [sys.executable, "-m", "rapport", "--data-dir", str(ctx.settings.data_dir), "worker"]
        )
    try:
        uvicorn.run(
            "rapport.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            proxy_headers=True,
        )
    finally:
        if side_worker is not None:
            side_worker.send_signal(signal.SIGTERM)
            side_worker.wait(timeout=30)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--no-worker", is_flag=True, help="Do not run background jobs in this command.")
@pass_context
def serve(ctx: Context, host: str, port: int, workers: int, no_worker: bool) -> None:
    """Serve the web app (and, unless --no-worker, the background worker)."""
    serve_app(ctx, host, port, workers, not no_worker)


@click.command()
@click.option(
    "--once", is_flag=True, help="Do one pass (due jobs, schedules, deliveries) and exit."
)
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 64))
@pass_context
@run_async
async def worker(ctx: Context, once: bool, concurrency: int) -> None:
    """Run background jobs, schedules, plugin services and outbox delivery."""
    from rapport import bootstrap
    from rapport.jobs.worker import run_once, run_worker

    runtime = await started(ctx, migrate=True)
    await runtime.plugins.call("startup", runtime=runtime)
    try:
        if once:
            import socket

            name = f"{socket.gethostname()}:{os.getpid()}:once"
            click.echo(str(await run_once(runtime, name=name)))
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        click.echo("Worker running; Ctrl+C stops it.")
        await run_worker(runtime, stop=stop, concurrency=concurrency)
    finally:
        await bootstrap.stop()
