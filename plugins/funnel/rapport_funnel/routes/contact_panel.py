"""The contact card's "Deals" panel and its "New deal" action."""

from __future__ import annotations

from typing import Any

from rapport.api import CardPanel, ContactAction, can_see, has_permission, render_html
from rapport.api import gettext as _

from rapport_funnel.deals import deals_of_contact
from rapport_funnel.routes.common import restriction, user_of

DEALS = "funnel.deals"


async def deals_panel(contact: dict[str, Any], request: Any) -> list[CardPanel]:
    if not await has_permission(user_of(request)["role"], DEALS):
        return []
    restricted = await restriction(request)
    deals = [d for d in await deals_of_contact(contact["id"]) if can_see(d["owner_id"], restricted)]
    html = render_html(request, "funnel/_contact_panel.html", deals=deals, contact=contact)
    return [CardPanel(_("Deals"), html, order=50, key="funnel-deals")]


async def new_deal_action(contact: dict[str, Any], request: Any) -> list[ContactAction]:
    if not await has_permission(user_of(request)["role"], DEALS):
        return []
    return [
        ContactAction(
            _("New deal"), f"/funnel/deals/new?contact_id={contact['id']}", order=50,
            key="funnel-new-deal",
        )
    ]
