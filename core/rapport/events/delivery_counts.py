"""What outbox delivery may spend (:class:`DeliveryOptions`) and what a pass did
(:class:`DeliveryStats`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeliveryOptions:
    batch_size: int = 200  # outbox rows read, and committed, at a time
    budget: float = 2.0  # seconds one consumer may deliver before its progress is committed
    backoff_base: float = 5.0  # seconds before the second attempt; doubles per failure
    backoff_cap: float = 3600.0
    lease_seconds: float = 30.0  # how long a dead worker keeps a consumer from others
    handler_timeout: float = 120.0  # a handler that hangs longer counts as failed
    gap_settle: float = 0.5  # PostgreSQL: see rapport.events.horizon


DEFAULTS = DeliveryOptions()


@dataclass
class DeliveryStats:
    delivered: int = 0  # successful handler calls
    failed: int = 0  # failed attempts that will be retried
    dead: int = 0  # events given up on
    waiting: int = 0  # events stored behind an earlier failure of their key
    skipped: int = 0  # events the consumer does not want

    def add(self, other: DeliveryStats) -> None:
        for name in ("delivered", "failed", "dead", "waiting", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def progressed(self) -> bool:
        return bool(self.delivered or self.failed or self.dead or self.waiting or self.skipped)
