"""Mounting plugin routes once and guarding them by the enabled set and by login.

Routes of every installed plugin are mounted when the app is built; a guard answers 404 for a
plugin that is disabled at request time, so enabling or disabling needs no restart. A second
guard refuses anonymous requests unless the handler is declared public
(``@get("/form/{id}", opt={"public": True})``).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Router
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.static_files import create_static_files_router

from rapport.plugins.registry import PluginRegistry
from rapport.runtime import current

log = logging.getLogger(__name__)


PUBLIC_OPT = "public"


def plugin_static_path(plugin: str) -> str:
    """Where the files of a plugin's ``register_static_dirs`` are served."""
    return f"/static/plugins/{plugin}"


async def require_login(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Every route needs a signed-in user unless its handler says ``opt={"public": True}``.

    The authentication middleware puts the user in the ASGI scope; without one, nothing but
    public routes answers.
    """
    if handler.opt.get(PUBLIC_OPT):
        return
    if connection.scope.get("user") is None:
        raise NotAuthorizedException("sign in to use this page")


def requires_permission(permission: str):
    """A route guard: the signed-in user must hold ``permission`` (403 otherwise).

    ``@get("/funnel/reports", guards=[requires_permission("funnel.reports.view")])``.
    """

    async def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        from rapport.users.roles import has_permission

        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException("sign in to use this page")
        if not await has_permission(user["role"], permission):
            raise PermissionDeniedException(f"needs permission {permission}")

    guard.__name__ = f"requires_{permission.replace('.', '_')}"
    return guard


def _enabled_guard(plugin: str):
    async def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        if not current().plugins.is_enabled(plugin):
            raise NotFoundException()

    guard.__name__ = f"enabled_guard_{plugin}"
    return guard


def plugin_routers(registry: PluginRegistry) -> list[Router]:
    """One router per installed plugin with routes or static files, guarded by its enabled state."""
    routers = []
    for name, plugin in sorted(registry.installed.items()):
        try:
            handlers: list[Any] = registry.collect_from([plugin.module], "register_routes")
        except Exception:
            log.exception("plugin %s: register_routes failed; its routes are not mounted", name)
            continue
        try:
            static_dirs = registry.collect_from([plugin.module], "register_static_dirs")
        except Exception:
            log.exception("plugin %s: register_static_dirs failed; its files are not served", name)
            static_dirs = []
        if static_dirs:
            handlers.append(
                create_static_files_router(
                    path=plugin_static_path(name),
                    directories=static_dirs,
                    opt={PUBLIC_OPT: True},
                    name=f"static-plugin-{name}",
                    include_in_schema=False,
                )
            )
        if handlers:
            routers.append(
                Router(
                    path="/", route_handlers=handlers, guards=[_enabled_guard(name)], tags=[name]
                )
            )
    return routers
