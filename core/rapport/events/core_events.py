"""The core's events. Each class documents its payload; ``docs/plugins/events.md`` lists them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rapport.events.base import Event


@dataclass(frozen=True, kw_only=True)
class ContactCreated(Event):
    """A person or company was created (by hand, API, import, form, call…)."""

    type: ClassVar[str] = "contact.created"
    contact_id: int
    kind: str
    name: str
    owner_id: int | None = None
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class ContactUpdated(Event):
    """Fields of a contact changed. ``changes`` maps each field to ``[old, new]``."""

    type: ClassVar[str] = "contact.updated"
    contact_id: int
    changes: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ContactArchived(Event):
    """A contact was archived (``archived=True``) or restored (``archived=False``)."""

    type: ClassVar[str] = "contact.archived"
    contact_id: int
    archived: bool = True


@dataclass(frozen=True, kw_only=True)
class ContactMerged(Event):
    """``loser_id`` was merged into ``contact_id``; the loser is archived, its history moved."""

    type: ClassVar[str] = "contact.merged"
    contact_id: int
    loser_id: int
    merge_id: int


@dataclass(frozen=True, kw_only=True)
class ActivityLogged(Event):
    """An activity joined a contact's timeline."""

    type: ClassVar[str] = "activity.logged"
    activity_id: int
    contact_id: int
    kind: str
    author_id: int | None = None
    subject_type: str = ""
    subject_id: str = ""


@dataclass(frozen=True, kw_only=True)
class TaskCompleted(Event):
    """A task was marked done."""

    type: ClassVar[str] = "task.completed"
    activity_id: int
    contact_id: int
    assignee_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class LeadReceived(Event):
    """Someone asked to buy: a form, a call or an import brought a lead for a contact.

    Published by intake plugins (web forms, telephony); the funnel turns it into a deal.
    ``pipeline`` and ``stage`` name where the deal should start (``None``: the default);
    ``utm`` holds first/last-touch attribution as the intake recorded it.
    """

    type: ClassVar[str] = "lead.received"
    contact_id: int
    title: str = ""
    source: str = ""
    origin: str = ""  # the publishing plugin
    pipeline: str | None = None
    stage: str | None = None
    amount: float | None = None
    currency: str | None = None
    utm: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PluginEnabled(Event):
    type: ClassVar[str] = "plugin.enabled"
    name: str


@dataclass(frozen=True, kw_only=True)
class PluginDisabled(Event):
    type: ClassVar[str] = "plugin.disabled"
    name: str


CORE_EVENTS: list[type[Event]] = [
    ContactCreated,
    ContactUpdated,
    ContactArchived,
    ContactMerged,
    ActivityLogged,
    TaskCompleted,
    LeadReceived,
    PluginEnabled,
    PluginDisabled,
]
