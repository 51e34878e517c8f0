"""Turning ``lead.received`` into a deal, once per event.

The event names the pipeline and stage by id or by name; anything it does not name, or names
wrongly, falls back to the default pipeline and its first working stage. The outbox id of the
event is stored with the deal (unique), so a redelivered event finds the deal it made.
"""

from __future__ import annotations

import logging

from rapport.api import ContactNotFound, EventMeta, LeadReceived, get_contact, transaction
from rapport.api import gettext as _

from rapport_funnel.deals import UTM_FIELDS, create_deal
from rapport_funnel.pipelines import default_pipeline, find_pipeline, find_stage, stages_of
from rapport_funnel.tables import IN_PROGRESS, FunnelLeadIntake

log = logging.getLogger(__name__)


def _utm(event: LeadReceived) -> dict[str, str]:
    """UTM values from the event: last touch wins over first touch, flat keys over both."""
    utm = event.utm or {}
    merged: dict[str, str] = {}
    for layer in (utm.get("first") or {}, utm.get("last") or {}, utm):
        if not isinstance(layer, dict):
            continue
        for key in UTM_FIELDS:
            short = key.removeprefix("utm_")
            value = layer.get(key, layer.get(short))
            if isinstance(value, str) and value.strip():
                merged[key] = value.strip()
    return merged


async def deal_for_lead(event: LeadReceived, meta: EventMeta) -> int | None:
    """Create the deal a lead asks for; return its id (the existing one on redelivery)."""
    existing = await FunnelLeadIntake.select().where(FunnelLeadIntake.event_id == meta.id).first()
    if existing is not None:
        return existing["deal_id"]
    pipeline = await find_pipeline(event.pipeline) or await default_pipeline()
    if pipeline is None:
        log.warning("lead.received %s: no pipeline exists, no deal created", meta.id)
        return None
    stages = [s for s in await stages_of(pipeline["id"]) if s["semantic"] == IN_PROGRESS]
    stage = find_stage(stages, event.stage) or stages[0]
    try:
        contact = await get_contact(event.contact_id)
    except ContactNotFound:
        log.warning("lead.received %s: contact %s is gone", meta.id, event.contact_id)
        return None
    title = event.title.strip() or _("Request from %(name)s", name=contact["name"])
    data = {
        "title": title[:200],
        "contact_id": contact["id"],
        "pipeline_id": pipeline["id"],
        "stage_id": stage["id"],
        "owner_id": contact.get("owner"),
        "source": event.source or contact.get("source") or event.origin,
        **_utm(event),
    }
    if event.amount is not None:
        data["amount"] = event.amount
    if event.currency:
        data["currency"] = event.currency
    async with transaction():
        deal_id = await create_deal(data, actor_id=meta.actor_id)
        await FunnelLeadIntake.insert(FunnelLeadIntake(event_id=meta.id, deal_id=deal_id))
    return deal_id
