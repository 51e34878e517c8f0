"""Typed, versioned events.

An event is a frozen dataclass with a class-level ``type`` (``"contact.created"``) and
``version``. Its fields are its payload, stored as JSON in the outbox; the ``key`` decides
ordering: events with the same key reach each asynchronous consumer in the order published.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str] = ""
    version: ClassVar[int] = 1

    def key(self) -> str:
        """Ordering key: the contact the event concerns when it has one."""
        contact_id = getattr(self, "contact_id", None)
        return f"contact:{contact_id}" if contact_id is not None else ""

    def to_payload(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Event:
        names = {f.name for f in dataclasses.fields(cls)}
        # Fields added in a later version are ignored by older readers, and vice versa.
        return cls(**{k: v for k, v in payload.items() if k in names})


@dataclass(frozen=True)
class EventMeta:
    """What the bus knows about a published event besides its payload."""

    id: int
    type: str
    version: int
    key: str
    occurred_at: dt.datetime
    actor_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(Event):
    """An outbox row whose type no enabled plugin registers (its plugin is off or gone)."""

    type: ClassVar[str] = "unknown"
    raw_type: str = ""
    payload: dict[str, Any] = dataclasses.field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
