"""Core declarations and defaults, registered like any plugin (always on)."""

from __future__ import annotations

from rapport.activities.kinds import CORE_KINDS
from rapport.events.core_events import CORE_EVENTS
from rapport.hookspecs import hookimpl
from rapport.plugins.presets import BusinessType
from rapport.users.permissions import CORE_PERMISSIONS


@hookimpl
def register_event_types():
    return CORE_EVENTS


@hookimpl
def register_activity_kinds():
    return CORE_KINDS


@hookimpl
def register_permissions():
    return CORE_PERMISSIONS


@hookimpl
def register_api_scopes():
    from rapport.rest.scopes import CORE_SCOPES

    return CORE_SCOPES


@hookimpl
def register_business_types():
    # The plugins of each preset add themselves through their own register_business_types.
    return [
        BusinessType(
            "retail",
            "Retail and e-commerce",
            "Shops and online stores: loyalty cards, mailing lists, web forms.",
            plugins=("loyalty", "mailing", "webforms"),
        ),
        BusinessType(
            "b2b",
            "B2B with a long sales cycle",
            "A sales funnel, web forms, telephony and mailing.",
            plugins=("funnel", "webforms", "telephony", "mailing"),
        ),
        BusinessType(
            "services",
            "Services (salon, clinic, studio)",
            "Loyalty, telephony and mailing; visit frequency and average check on the card.",
            plugins=("loyalty", "telephony", "mailing"),
        ),
        BusinessType("custom", "Custom", "Start with the core and pick plugins yourself."),
    ]


@hookimpl(trylast=True)
async def resolve_caller(phone: str):
    from rapport.contacts.lookup import contact_by_phone

    return await contact_by_phone(phone)


@hookimpl
def menu_items(request):
    from rapport.web.i18n import gettext as _
    from rapport.web.slots import MenuItem

    return [
        MenuItem(_("My day"), "/my-day", order=10, key="my-day"),
        MenuItem(_("Contacts"), "/contacts", order=20, permission="contacts.view", key="contacts"),
        MenuItem(_("Admin"), "/admin", order=900, permission="plugins.manage", key="admin"),
    ]


@hookimpl
async def startup(runtime):
    """Apply the administrators' stored overrides (language, phone region, currency) to this
    process's settings before it serves anything."""
    from rapport.settings_store import refresh

    await refresh(force=True)


@hookimpl
def register_jobs():
    """The reminder of tasks coming due (``rapport.activities.reminders``)."""
    from rapport.activities.reminders import reminder_jobs

    return reminder_jobs()


@hookimpl
def register_schedules():
    """Task reminders run every minute."""
    from rapport.activities.reminders import reminder_schedules

    return reminder_schedules()
