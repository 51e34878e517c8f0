"""The contact card's "Deals" panel and its "New deal" action.

Both run on every contact card, so they cost as little as possible: the permission is read
once per request for the two of them, the deals are two index ranges (by person, by company),
and amounts are formatted with the funnel's cached locale pattern rather than through Babel
per deal. The panel has no form of its own: *New deal* links to the deal form, which reads the
pipelines and products only when opened.
"""

from __future__ import annotations

from typing import Any

from rapport.api import CardPanel, ContactAction, can_see, render_html
from rapport.api import gettext as _

from rapport_funnel.deals import deals_of_contact
from rapport_funnel.money import format_money
from rapport_funnel.routes.common import can_once, restriction

DEALS = "funnel.deals"


async def deals_panel(contact: dict[str, Any], request: Any) -> list[CardPanel]:
    if not await can_once(request, DEALS):
        return []
    restricted = await restriction(request)
    deals = [d for d in await deals_of_contact(contact["id"]) if can_see(d["owner_id"], restricted)]
    for deal in deals:
        deal["amount_text"] = format_money(deal["amount_minor"], deal["currency"])
    html = render_html(request, "funnel/_contact_panel.html", deals=deals, contact=contact)
    return [CardPanel(_("Deals"), html, order=50, key="funnel-deals")]


async def new_deal_action(contact: dict[str, Any], request: Any) -> list[ContactAction]:
    if not await can_once(request, DEALS):
        return []
    return [
        ContactAction(
            _("New deal"), f"/funnel/deals/new?contact_id={contact['id']}", order=50,
            key="funnel-new-deal",
        )
    ]
