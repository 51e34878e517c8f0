"""What every admin page shares: the permission guard, form parsing, the section list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body
from litestar.response import Template

from rapport.web.i18n import gettext as _
from rapport.web.rendering import page, user_permissions

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

PLUGINS = "plugins.manage"
USERS = "users.manage"
SETTINGS = "settings.manage"


async def require_permission(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Refuse (403) a signed-in user without the permission the handler names in
    ``opt={"permission": ...}``; the app-wide login guard has already refused anonymous ones."""
    needed = handler.opt.get("permission")
    if needed and needed not in await user_permissions(connection):  # type: ignore[arg-type]
        raise PermissionDeniedException("missing permission " + needed)


def guarded(permission: str) -> dict[str, Any]:
    """Route keyword arguments for an admin page that needs ``permission``."""
    return {"guards": [require_permission], "opt": {"permission": permission}}


@dataclass(frozen=True)
class Section:
    key: str
    url: str
    label: str
    permission: str


def sections() -> list[Section]:
    """The admin area's pages, in menu order (labels translated for the request's language)."""
    return [
        Section("plugins", "/admin/plugins", _("Plugins"), PLUGINS),
        Section("setup", "/admin/setup", _("Business type"), PLUGINS),
        Section("users", "/admin/users", _("Users"), USERS),
        Section("roles", "/admin/roles", _("Roles"), USERS),
        Section("settings", "/admin/settings", _("Settings"), SETTINGS),
        Section("fields", "/admin/fields", _("Custom fields"), SETTINGS),
        Section("webhooks", "/admin/webhooks", _("Webhooks"), SETTINGS),
        Section("assignment", "/admin/assignment", _("Assignment rules"), SETTINGS),
    ]


async def allowed_sections(request: Request) -> list[Section]:
    permissions = await user_permissions(request)
    return [s for s in sections() if s.permission in permissions]


async def admin_page(
    request: Request, template: str, section: str, status_code: int = 200, **context: Any
) -> Template:
    """An admin page: the layout plus the admin area's own navigation."""
    return await page(
        request,
        template,
        status_code=status_code,
        admin_sections=await allowed_sections(request),
        admin_section=section,
        **context,
    )


def text(data: dict[str, Any], key: str, limit: int = 500) -> str:
    """One stripped form value (the last, if sent twice), cut to ``limit`` characters."""
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value).strip()[:limit]


def many(data: dict[str, Any], key: str) -> list[str]:
    """Every value of a repeated form field (checkboxes), as a list."""
    value = data.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def current_user(request: Request) -> dict[str, Any]:
    return request.scope["user"]  # type: ignore[typeddict-item]
