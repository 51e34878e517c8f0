"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from litestar import Litestar, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from rapport import bootstrap
from rapport.plugins.manifest import API_VERSION
from rapport.plugins.registry import PluginRegistry
from rapport.rest.routing import all_api_routers
from rapport.rest.schema import openapi_config
from rapport.runtime import current
from rapport.settings import Settings, load_settings
from rapport.web import i18n
from rapport.web.errors import HANDLERS
from rapport.web.live import LivePlugin
from rapport.web.middleware import context_middleware, security_headers_middleware
from rapport.web.plugin_routes import plugin_routers, require_login
from rapport.web.themes import (
    DEFAULT_THEME,
    discover_themes,
    theme_middleware,
    theme_static_path,
    themed_engine,
)

log = logging.getLogger(__name__)

IN_PROCESS_WORKER_ENV = "RAPPORT_IN_PROCESS_WORKER"
CORE_STATIC = Path(__file__).parent / "static"
CSRF_COOKIE = "rapport_csrf"
CSRF_HEADER = "x-csrftoken"


@get("/healthz", include_in_schema=False, opt={"public": True})
async def healthz() -> dict[str, Any]:
    return {"status": "ok", "database": current().engine.engine_type}


def _core_routes() -> list[Any]:
    from rapport.web.home import home
    from rapport.web.pages import admin, api_tokens, auth, contacts, my_day, search

    return [
        healthz,
        home,
        *auth.ROUTES,
        *contacts.ROUTES,
        *search.ROUTES,
        *my_day.ROUTES,
        *admin.ROUTES,
        *api_tokens.ROUTES,
    ]


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

    modules = registry.all_modules()
    for directory in registry.collect_from(modules, "register_translations"):
        i18n.add_catalog_dir(Path(directory))
    themes = discover_themes()
    engine = themed_engine(
        themes,
        settings.extra.get("theme", DEFAULT_THEME),
        plugin_dirs=[Path(d) for d in registry.collect_from(modules, "register_template_dirs")],
    )
    static = create_static_files_router(
        path="/static",
        directories=[themes[DEFAULT_THEME].static, CORE_STATIC],
        opt={"public": True},
        include_in_schema=False,
    )
    theme_statics = [
        create_static_files_router(
            path=theme_static_path(name, "").rstrip("/"),
            directories=[theme.static],
            name=f"static-theme-{name}",
            opt={"public": True},
            include_in_schema=False,
        )
        for name, theme in sorted(themes.items())
    ]
    return Litestar(
        route_handlers=[
            *_core_routes(),
            static,
            *theme_statics,
            *plugin_routers(registry),
            *all_api_routers(registry),
        ],
        # Only the REST API is described by the OpenAPI document (its routers opt back in).
        include_in_schema=False,
        openapi_config=openapi_config(API_VERSION),
        template_config=TemplateConfig(instance=engine),
        guards=[require_login],
        middleware=[
            DefineMiddleware(security_headers_middleware),
            DefineMiddleware(theme_middleware),
            DefineMiddleware(context_middleware),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE,
            header_name=CSRF_HEADER,
            cookie_samesite="lax",
            cookie_httponly=False,  # htmx reads nothing from it; the token is in the page
        ),
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        plugins=[LivePlugin(settings)],  # live pushes: channels, GET /live, stream shutdown
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        state=State({"settings": settings}),
    )
