"""The events the funnel publishes; payloads are listed in ``docs/plugins/events.md``.

Each is published inside the transaction that made the change, so the event and the change
exist together or not at all. Amounts are in minor units (``amount_minor``: kopecks, cents).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rapport.api import Event


@dataclass(frozen=True, kw_only=True)
class DealEvent(Event):
    deal_id: int
    contact_id: int | None = None

    def key(self) -> str:
        # Per contact when there is one (its timeline order), else per deal.
        return f"contact:{self.contact_id}" if self.contact_id else f"deal:{self.deal_id}"


@dataclass(frozen=True, kw_only=True)
class DealCreated(DealEvent):
    type: ClassVar[str] = "deal.created"
    title: str
    pipeline_id: int
    stage_id: int
    owner_id: int | None = None
    company_id: int | None = None
    amount_minor: int = 0
    currency: str = ""
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class DealStageChanged(DealEvent):
    type: ClassVar[str] = "deal.stage_changed"
    pipeline_id: int
    from_stage_id: int | None
    to_stage_id: int
    status: str  # the deal's status after the move: open, won or lost


@dataclass(frozen=True, kw_only=True)
class DealWon(DealEvent):
    type: ClassVar[str] = "deal.won"
    owner_id: int | None = None
    amount_minor: int = 0
    currency: str = ""


@dataclass(frozen=True, kw_only=True)
class DealLost(DealEvent):
    type: ClassVar[str] = "deal.lost"
    owner_id: int | None = None
    reason_id: int | None = None
    reason: str = ""
    comment: str = ""


@dataclass(frozen=True, kw_only=True)
class DealAssigned(DealEvent):
    type: ClassVar[str] = "deal.assigned"
    from_owner_id: int | None = None
    to_owner_id: int | None = None


EVENT_TYPES: list[type[Event]] = [DealCreated, DealStageChanged, DealWon, DealLost, DealAssigned]
