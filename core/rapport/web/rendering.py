"""Rendering pages: the template plus what every page's layout needs."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template
from markupsafe import Markup

from rapport.runtime import current
from rapport.users.roles import permissions_of
from rapport.users.visibility import restricted_to
from rapport.web.i18n import LANGUAGES, current_language
from rapport.web.slots import MenuItem, SlotError, call_slot


async def user_permissions(request: Request) -> set[str]:
    """The signed-in user's permissions, read once per request."""
    cached = request.scope.get("rapport_permissions")  # type: ignore[typeddict-item]
    if cached is not None:
        return cached
    user = request.scope.get("user")  # type: ignore[typeddict-item]
    if not user:
        permissions: set[str] = set()
    elif user["role"] == "admin":
        permissions = set(current().permissions)
    else:
        permissions = await permissions_of(user["role"])
    request.scope["rapport_permissions"] = permissions  # type: ignore[typeddict-unknown-key]
    return permissions


async def request_restriction(request: Request) -> int | None:
    """The owner id the signed-in user's contact (and a plugin's record) queries are limited
    to, None for no limit: :func:`rapport.users.visibility.restricted_to`, read once per
    request however many pages parts and plugin panels ask."""
    cache = request.scope.setdefault("rapport_contacts", {})  # type: ignore[typeddict-item]
    if "restricted" not in cache:
        cache["restricted"] = await restricted_to(request.scope["user"])  # type: ignore[typeddict-item]
    return cache["restricted"]


async def layout_context(request: Request) -> dict[str, Any]:
    user = request.scope.get("user")  # type: ignore[typeddict-item]
    menu: list[MenuItem] = []
    css: list[str] = []
    js: list[str] = []
    if user:
        permissions = await user_permissions(request)
        menu = [
            item
            for item in await call_slot("menu_items", request=request)
            if isinstance(item, MenuItem)
            and (item.permission is None or item.permission in permissions)
        ]
        css = [u for u in await call_slot("extra_css_urls", request=request) if isinstance(u, str)]
        js = [u for u in await call_slot("extra_js_urls", request=request) if isinstance(u, str)]
    return {
        "user": user,
        "menu": menu,
        "extra_css": css,
        "extra_js": js,
        "lang": current_language(),
        "languages": LANGUAGES,
        "path": request.url.path,
        "is_htmx": request.headers.get("hx-request") == "true",
    }


async def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    """A full page (or, for htmx requests, the same template: blocks decide what shows)."""
    base = await layout_context(request)
    return Template(template, context={**base, **context}, status_code=status_code)


def render_html(request: Request, template: str, **context: Any) -> Markup:
    """Render a template of the current theme (or a plugin's template folder) to HTML, for
    slot contributions such as :class:`rapport.api.CardPanel` that carry ready HTML."""
    return Markup(request.app.template_engine.get_template(template).render(**context))


def fragment(template: str, status_code: int = 200, **context: Any) -> Template:
    """A partial for htmx swaps: no layout, no menu."""
    return Template(template, context=context, status_code=status_code)


__all__ = [
    "SlotError",
    "fragment",
    "layout_context",
    "page",
    "render_html",
    "request_restriction",
    "user_permissions",
]
