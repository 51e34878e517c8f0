"""The funnel plugin: its manifest and hook implementations.

The entry point ``funnel = "rapport_funnel.plugin"`` names this module. The work lives in
small modules (``deals``, ``pipelines``, ``board``, ``reports``…); here they are wired to
Rapport's hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rapport.api import (
    ActivityKind,
    BusinessType,
    Event,
    EventMeta,
    LeadReceived,
    Manifest,
    MenuItem,
    Permission,
    hookimpl,
)
from rapport.api import gettext as _

from rapport_funnel import deals, leads, seed
from rapport_funnel.events import EVENT_TYPES

HERE = Path(__file__).parent
STATIC_URL = "/static/plugins/funnel"

DEALS = "funnel.deals"
MANAGE = "funnel.manage"
REPORTS = "funnel.reports.view"

manifest = Manifest(
    name="funnel",
    title="Sales funnel",
    version="0.1.0",
    description="Pipelines, deals on a kanban board, follow-up tasks, reports and forecast.",
    category="sales",
    business_types=("b2b",),
    piccolo_app="rapport_funnel.piccolo_app",
)


@hookimpl
def register_event_types() -> list[type[Event]]:
    return list(EVENT_TYPES)


@hookimpl
def register_activity_kinds() -> list[ActivityKind]:
    return [
        ActivityKind(
            deals.ACTIVITY_KIND, "Deal", icon="funnel",
            payload_fields={"deal_id": "int", "stage_id": "int"},
        )
    ]


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission(DEALS, "Work with deals and the board", ("admin", "manager", "staff")),
        Permission(MANAGE, "Edit pipelines, stages, lost reasons and goals", ("admin",)),
        Permission(REPORTS, "See the sales reports and forecast", ("admin", "manager")),
    ]


@hookimpl
def register_business_types() -> list[BusinessType]:
    return [BusinessType(name="b2b", title="B2B, long sales cycle", plugins=("funnel",))]


@hookimpl
def register_routes() -> list[Any]:
    from rapport_funnel.routes import all_routes

    return all_routes()


@hookimpl
def register_api_routes() -> list[Any]:
    from rapport_funnel.routes.api import ROUTES as API_ROUTES

    return list(API_ROUTES)


@hookimpl
def register_api_scopes() -> list[Any]:
    from rapport_funnel.routes.api import SCOPES

    return list(SCOPES)


@hookimpl
def register_template_dirs() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def register_static_dirs() -> list[Path]:
    # Served under STATIC_URL: the board script, its styles and the vendored SortableJS.
    return [HERE / "static"]


@hookimpl
def register_translations() -> list[Path]:
    return [HERE / "locale"]


@hookimpl
def menu_items(request: Any) -> list[MenuItem]:
    return [
        MenuItem(_("Deals"), "/funnel", order=200, permission=DEALS, key="funnel"),
        MenuItem(_("Reports"), "/funnel/reports", order=210, permission=REPORTS,
                 key="funnel-reports"),
        MenuItem(_("Funnel settings"), "/funnel/settings", order=900, permission=MANAGE,
                 key="funnel-settings"),
    ]


@hookimpl
def extra_css_urls(request: Any) -> list[str]:
    return [f"{STATIC_URL}/funnel.css"]


@hookimpl
def extra_js_urls(request: Any) -> list[str]:
    # Loaded on every page, but each script does nothing unless its markup is present.
    return [f"{STATIC_URL}/vendor/sortablejs-1.15.6/Sortable.min.js", f"{STATIC_URL}/funnel.js"]


@hookimpl
async def contact_card_panels(contact: dict[str, Any], request: Any) -> list[Any]:
    from rapport_funnel.routes.contact_panel import deals_panel

    return await deals_panel(contact, request)


@hookimpl
async def contact_actions(contact: dict[str, Any], request: Any) -> list[Any]:
    from rapport_funnel.routes.contact_panel import new_deal_action

    return await new_deal_action(contact, request)


@hookimpl
async def handle_event(event: Event, meta: EventMeta) -> None:
    if isinstance(event, LeadReceived):
        await leads.deal_for_lead(event, meta)


@hookimpl
async def merge_contacts(winner_id: int, loser_id: int) -> None:
    await deals.move_contact_deals(winner_id, loser_id)


@hookimpl
async def plugin_enabled(name: str) -> None:
    await seed.seed_defaults()


@hookimpl
async def resolve_subject_links(subject_type: str, subject_ids: list[str]) -> Any:
    from rapport_funnel.subject_links import deal_links

    return await deal_links(subject_type, subject_ids)
