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

    The plugin's ``handle_event`` calls it after the publisher's commit. The reads come
    before the write transaction, as fixed statements on the kept reader (and the core's
    contact read): inside it they would hold SQLite's one write lock while the web
    processes wait to accept submissions. A redelivery racing this one fails on the unique
    outbox id and leaves one deal."""
    found = await _reads(event, meta)
    if not isinstance(found, tuple):
        return found
    pipeline, stage, contact = found
    async with transaction():
        return await _write(event, meta, pipeline, stage, contact)


async def deals_for_leads(items: list[tuple[LeadReceived, EventMeta]]) -> list[int | None]:
    """The deal of each lead, in order (None where none can be made), written in one
    transaction (several leads to one: an outbox consumer's batch could use it)."""
    reads = [(event, meta, await _reads(event, meta)) for event, meta in items]
    results: list[int | None] = []
    async with transaction():
        for event, meta, found in reads:
            if isinstance(found, tuple):
                results.append(await _write(event, meta, *found))
            else:
                results.append(found)
    return results


async def _reads(
    event: LeadReceived, meta: EventMeta
) -> int | tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    """The deal already made for the event (its id), None when none can be made, else the
    pipeline, stage and contact of the new deal."""
    existing = await _INTAKE_OF.fetch_one(meta.id)
    if existing is not None:
        return int(existing["deal_id"])
    pipeline = _pipeline_for(await _PIPELINES.fetch(), event.pipeline)
    if pipeline is None:
        log.warning("lead.received %s: no pipeline exists, no deal created", meta.id)
        return None
    stages = await _WORKING_STAGES.fetch(pipeline["id"], False, IN_PROGRESS)
    stage = find_stage(stages, event.stage) or stages[0]
    try:
        contact = await get_contact(event.contact_id)
    except ContactNotFound:
        log.warning("lead.received %s: contact %s is gone", meta.id, event.contact_id)
        return None
    return pipeline, stage, contact


async def _write(
    event: LeadReceived,
    meta: EventMeta,
    pipeline: dict[str, Any],
    stage: dict[str, Any],
    contact: dict[str, Any],
) -> int:
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
    return int(deal["id"])
