"""Mounting the API: the core resources and every installed plugin's, all under ``/api/v1``.

Each group is a Litestar router at ``/api/v1`` that shares the same layer of behaviour: a
guard checking the token and the rate limit, the ``Idempotency-Key`` middleware, exemption
from CSRF (no cookie is read here), a place in the OpenAPI schema. A plugin's router also
gets a guard that answers 404 while the plugin is disabled, like its web routes.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Router
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import DefineMiddleware

from rapport.plugins.registry import PluginRegistry
from rapport.rest import API_PREFIX
from rapport.rest.idempotency import idempotency_middleware
from rapport.rest.problems import ApiProblem, FieldError
from rapport.rest.ratelimit import SCOPE_KEY, count_request, rate_limit_headers_middleware
from rapport.runtime import current

log = logging.getLogger(__name__)

API_OPT = {"exclude_from_csrf": True, "api": True}


async def api_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """A valid token is required (401) and its rate limit applies (429 with Retry-After)."""
    _refuse_nul(connection)
    if handler.opt.get("public"):
        return
    token = connection.scope.get("api_token")
    if token is None:
        raise ApiProblem(401, "Authentication required", "send Authorization: Bearer <token>")
    rate = await count_request(token["id"])
    connection.scope[SCOPE_KEY] = rate  # type: ignore[literal-required]
    if not rate.allowed:
        raise ApiProblem(
            429,
            "Rate limit exceeded",
            f"this token made too many requests; retry in {rate.retry_after} s",
            kind="rate-limited",
            headers={"Retry-After": str(rate.retry_after)},
        )


def _refuse_nul(connection: ASGIConnection) -> None:
    """No database stores NUL in text: refuse it in the path or query before any handler."""
    query = unquote_to_bytes(connection.scope.get("query_string", b""))
    if b"\x00" in query or "\x00" in connection.scope["path"]:
        raise ApiProblem(
            400,
            "Bad request",
            "the path or query contains a NUL character",
            kind="invalid-request",
            errors=[
                FieldError(field="query", message="contains a NUL character", location="query")
            ],
        )


def _enabled_guard(plugin: str) -> Any:
    async def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        if not current().plugins.is_enabled(plugin):
            raise NotFoundException()

    guard.__name__ = f"api_enabled_guard_{plugin}"
    return guard


def api_router(
    handlers: list[Any], *, guards: list[Any] | None = None, tags: list[str] | None = None
) -> Router:
    return Router(
        path=API_PREFIX,
        route_handlers=handlers,
        guards=[*(guards or []), api_guard],
        # The headers' middleware is outermost: it also marks answers the idempotency layer
        # builds (a replay is not counted, so it carries none).
        middleware=[
            DefineMiddleware(rate_limit_headers_middleware),
            DefineMiddleware(idempotency_middleware),
        ],
        include_in_schema=True,
        opt=dict(API_OPT),
        tags=tags,
    )


def plugin_api_routers(registry: PluginRegistry) -> list[Router]:
    """One API router per installed plugin that registers API routes."""
    routers = []
    for name, plugin in sorted(registry.installed.items()):
        try:
            handlers: list[Any] = registry.collect_from([plugin.module], "register_api_routes")
        except Exception:
            log.exception("plugin %s: register_api_routes failed; its API is not mounted", name)
            continue
        if handlers:
            routers.append(api_router(handlers, guards=[_enabled_guard(name)], tags=[name]))
    return routers


def all_api_routers(registry: PluginRegistry) -> list[Router]:
    from rapport.rest.resources import CORE_RESOURCES
    from rapport.rest.schema import SCHEMA_ROUTES

    return [
        api_router(CORE_RESOURCES),
        Router(
            path=API_PREFIX,
            route_handlers=SCHEMA_ROUTES,
            include_in_schema=False,
            opt=dict(API_OPT),
        ),
        *plugin_api_routers(registry),
    ]
