"""Pages: the admin area. ``/admin`` is its index; each section lives in ``admin_*.py``."""

from __future__ import annotations

from litestar import Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect, Template

from rapport.runtime import current
from rapport.users.tables import User
from rapport.web.pages import (
    admin_assignment,
    admin_fields,
    admin_plugin_settings,
    admin_plugins,
    admin_settings,
    admin_users,
    admin_webhooks,
)
from rapport.web.pages.admin_common import PLUGINS, admin_page, allowed_sections


@get("/admin", name="admin")
async def admin_index(request: Request) -> Template | Redirect:
    """The admin area's start; before any business type is chosen, the admin who manages
    plugins is sent to the set-up wizard first, since that choice shapes everything else."""
    sections = await allowed_sections(request)
    if not sections:
        raise PermissionDeniedException("no admin permission")
    business_type = await admin_plugins.chosen_business_type()
    if business_type is None and any(s.permission == PLUGINS for s in sections):
        return Redirect("/admin/setup")
    registry = current().plugins
    presets = {p.name: p for p in admin_plugins.preset_views()}
    return await admin_page(
        request,
        "admin/index.html",
        "index",
        business_type=presets.get(business_type or ""),
        business_type_name=business_type,
        enabled_count=len(registry.enabled),
        installed_count=len(registry.installed),
        quarantined_count=len(registry.quarantined),
        active_users=await User.count().where(User.is_active.eq(True)),
    )


ROUTES: list = [
    admin_index,
    *admin_plugins.ROUTES,
    *admin_users.ROUTES,
    *admin_settings.ROUTES,
    *admin_fields.ROUTES,
    *admin_webhooks.ROUTES,
    *admin_plugin_settings.ROUTES,
    *admin_assignment.ROUTES,
]
