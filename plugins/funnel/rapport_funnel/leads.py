"""Turning ``lead.received`` into a deal, once per event.

The event names the pipeline and stage by id or by name; anything it does not name, or names
wrongly, falls back to the default pipeline and its first working stage. The outbox id of the
event is stored with the deal (unique), so a redelivered event finds the deal it made.
"""

from __future__ import annotations

import logging
from typing import Any

from rapport.api import (
    ContactNotFound,
    EventMeta,
    LeadReceived,
    Statement,
    get_contact,
    transaction,
)
from rapport.api import gettext as _

from rapport_funnel.deals import UTM_FIELDS, clean_values, insert_deal, now, parties
from rapport_funnel.money import instance_currency
from rapport_funnel.pipelines import find_stage
from rapport_funnel.tables import IN_PROGRESS

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


# Fixed statements: every web-form lead runs them, and Piccolo's builder cost several times
# the queries themselves.
_INTAKE_OF = Statement("SELECT deal_id FROM funnel_lead_intake WHERE event_id = {}")
_ADD_INTAKE = Statement(
    "INSERT INTO funnel_lead_intake (event_id, deal_id, created_at) VALUES ({}, {}, {})"
)
_PIPELINES = Statement(
    "SELECT id, name, is_default, archived FROM funnel_pipeline ORDER BY sort, id"
)
_WORKING_STAGES = Statement(
    "SELECT id, name, semantic, followup_days FROM funnel_stage"
    " WHERE pipeline_id = {} AND archived = {} AND semantic = {} ORDER BY sort, id"
)


def _pipeline_for(pipelines: list[dict[str, Any]], ref: str | int | None) -> dict[str, Any] | None:
    """What ``find_pipeline(ref) or default_pipeline()`` gives, from rows of every pipeline
    (archived ones included, as an id may name one)."""
    text = "" if ref is None else str(ref).strip()
    active = [p for p in pipelines if not p["archived"]]
    if text:
        if text.isdigit():
            found = next((p for p in pipelines if p["id"] == int(text)), None)
            if found is not None:
                return found
        found = next((p for p in active if p["name"].casefold() == text.casefold()), None)
        if found is not None:
            return found
    return next((p for p in active if p["is_default"]), active[0] if active else None)


async def deal_for_lead(event: LeadReceived, meta: EventMeta) -> int | None:
    """Create the deal a lead asks for; return its id (the existing one on redelivery).

    The plugin's ``handle_event`` calls it after the publisher's commit, one lead to a
    transaction (see ``docs/plugins/funnel.md`` for why not in batches)."""
    return (await deals_for_leads([(event, meta)]))[0]


async def deals_for_leads(items: list[tuple[LeadReceived, EventMeta]]) -> list[int | None]:
    """The deal of each lead, in order (None where none can be made), in one transaction
    (several leads to one: an outbox consumer's batch could use it).

    All of it, reads included, runs in that transaction: on SQLite a read outside one opens
    a connection of its own, and the pipelines and stages read here are then the ones the
    deals are checked against. They are read once per call, not cached in the process: the
    settings pages edit them in the web processes, and the leads may be handled in another.
    An error other than a missing pipeline or contact rolls back every deal of the call.
    """
    async with transaction():
        pipelines = await _PIPELINES.fetch()
        stages: dict[int, list[dict[str, Any]]] = {}
        return [await _deal(event, meta, pipelines, stages) for event, meta in items]


async def _deal(
    event: LeadReceived,
    meta: EventMeta,
    pipelines: list[dict[str, Any]],
    stages_of_pipeline: dict[int, list[dict[str, Any]]],
) -> int | None:
    existing = await _INTAKE_OF.fetch_one(meta.id)
    if existing is not None:
        return existing["deal_id"]
    pipeline = _pipeline_for(pipelines, event.pipeline)
    if pipeline is None:
        log.warning("lead.received %s: no pipeline exists, no deal created", meta.id)
        return None
    if pipeline["id"] not in stages_of_pipeline:
        stages_of_pipeline[pipeline["id"]] = await _WORKING_STAGES.fetch(
            pipeline["id"], False, IN_PROGRESS
        )
    stages = stages_of_pipeline[pipeline["id"]]
    stage = find_stage(stages, event.stage) or stages[0]
    try:
        contact = await get_contact(event.contact_id)
    except ContactNotFound:
        log.warning("lead.received %s: contact %s is gone", meta.id, event.contact_id)
        return None
    title = event.title.strip() or _("Request from %(name)s", name=contact["name"])
    data: dict[str, Any] = {
        "title": title[:200],
        "source": event.source or contact.get("source") or event.origin,
        **_utm(event),
    }
    if event.amount is not None:
        data["amount"] = event.amount
    if event.currency:
        data["currency"] = event.currency
    values = clean_values(data)
    values.setdefault("currency", instance_currency())
    values["owner_id"] = contact.get("owner") or meta.actor_id
    contact_id, company_id = parties(contact, None)
    deal = await insert_deal(
        values, contact_id=contact_id, company_id=company_id, pipeline_id=pipeline["id"],
        stage=stage, actor_id=meta.actor_id, at=now(),
    )
    await _ADD_INTAKE.fetch(meta.id, deal["id"], deal["created_at"])
    return deal["id"]
