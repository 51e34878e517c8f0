"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from rapport import bootstrap
from rapport.plugins.registry import PluginRegistry
from rapport.runtime import current
from rapport.settings import Settings, load_settings
from rapport.web.plugin_routes import plugin_routers, require_login
from rapport.web.themes import DEFAULT_THEME, discover_themes, template_environment

log = logging.getLogger(__name__)

IN_PROCESS_WORKER_ENV = "RAPPORT_IN_PROCESS_WORKER"


@get("/healthz", include_in_schema=False, opt={"public": True})
async def healthz() -> dict[str, Any]:
    return {"status": "ok", "database": current().engine.engine_type}


async def _sync_plugins(request: Request) -> None:
    from rapport.plugins.state import sync

    await sync()


def create_app(
    settings: Settings | None = None, registry: PluginRegistry | None = None
) -> Litestar:
    """Build the app; ``rapport serve`` calls it with no arguments (settings from the env)."""
    settings = settings or load_settings()
    registry = registry if registry is not None else PluginRegistry()
    worker: dict[str, Any] = {}

    async def on_startup(app: Litestar) -> None:
        runtime = await bootstrap.start(settings, registry)
        if os.environ.get(IN_PROCESS_WORKER_ENV) == "1":
            from rapport.jobs.worker import run_worker

            stop = asyncio.Event()
            worker["stop"] = stop
            worker["task"] = asyncio.create_task(run_worker(runtime, stop=stop))

    async def on_shutdown(app: Litestar) -> None:
        if "task" in worker:
            worker["stop"].set()
            await worker["task"]
        await bootstrap.stop()

    from rapport.web.home import home

    themes = discover_themes()
    environment = template_environment(themes, settings.extra.get("theme", DEFAULT_THEME))
    environment.globals["static_url"] = lambda name: f"/static/{name}"
    static_dirs = [t.static for name, t in themes.items() if name != DEFAULT_THEME]
    static = create_static_files_router(
        path="/static",
        directories=[*static_dirs, themes[DEFAULT_THEME].static],
        opt={"public": True},
        include_in_schema=False,
    )

    return Litestar(
        route_handlers=[healthz, home, static, *plugin_routers(registry)],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
        guards=[require_login],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        before_request=_sync_plugins,
        state=State({"settings": settings}),
    )
