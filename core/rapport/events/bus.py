"""Publishing (into the outbox, inside the caller's transaction) and in-process dispatch."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from rapport.db.statements import Statement
from rapport.db.transaction import pending_events, transaction
from rapport.events.base import Event, EventMeta
from rapport.runtime import current

log = logging.getLogger("rapport.events")

# Fixed, not built per call: every write of the platform publishes, and Piccolo's insert
# builder cost several times the insert itself.
_INSERT = Statement(
    'INSERT INTO rapport_outbox (type, version, "key", payload, actor, created_at)'
    " VALUES ({}, {}, {}, {}, {}, {}) RETURNING id"
)


async def publish(event: Event, actor_id: int | None = None) -> EventMeta:
    """Write ``event`` to the outbox in the open transaction (or a new one).

    In-process ``handle_event`` implementations see it after the commit; asynchronous
    consumers get it from the outbox.
    """
    if pending_events() is None:
        async with transaction():
            return await publish(event, actor_id)
    if not event.type:
        raise TypeError(f"{type(event).__name__} has no `type`")
    now = dt.datetime.now(dt.UTC)
    key = event.key()
    rows = await _INSERT.fetch(
        event.type, event.version, key, json.dumps(event.to_payload()), actor_id, now
    )
    meta = EventMeta(
        id=rows[0]["id"],
        type=event.type,
        version=event.version,
        key=key,
        occurred_at=now,
        actor_id=actor_id,
    )
    pending = pending_events()
    assert pending is not None
    pending.append((event, meta))
    return meta


async def dispatch(items: list[tuple[Event, EventMeta]]) -> None:
    """Hand committed events to every enabled plugin's ``handle_event``, each isolated."""
    registry = current().plugins
    impls = registry.impls("handle_event")
    for event, meta in items:
        for impl in impls:
            try:
                result = impl.function(
                    *[{"event": event, "meta": meta}[name] for name in impl.argnames]
                )
                if hasattr(result, "__await__"):
                    await result
            except Exception:
                # The change is committed; one plugin's failure must not hide it from others.
                log.exception(
                    "handle_event of plugin %r failed on %s #%s",
                    impl.plugin_name,
                    meta.type,
                    meta.id,
                )


def event_from_row(row: dict[str, Any]) -> tuple[Event, EventMeta]:
    """Turn an outbox row back into a typed event (UnknownEvent if its type is not known)."""
    from rapport.events.base import UnknownEvent

    payload = row["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload)
    created = row["created_at"]
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created)
    meta = EventMeta(
        id=row["id"],
        type=row["type"],
        version=row["version"],
        key=row["key"],
        occurred_at=created,
        actor_id=row.get("actor"),
    )
    cls = current().event_types.get(row["type"])
    if cls is None:
        return UnknownEvent(raw_type=row["type"], payload=payload), meta
    return cls.from_payload(payload), meta
