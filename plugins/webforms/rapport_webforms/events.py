"""The events this plugin publishes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rapport.api import Event


@dataclass(frozen=True, kw_only=True)
class FormSubmitted(Event):
    """A visitor's submission was stored and attached to a contact.

    Published in the same transaction as the submission, the contact change and the
    "form submitted" activity. Payload: ``submission_id``, ``form_id``, ``form_key``,
    ``form_title``, ``contact_id``, ``created`` (a new contact, or an existing one
    matched), ``owner_id`` (the contact's owner after the submission, may be None),
    ``channel`` (snippet, iframe, html, webhook), ``values`` (the mapped values: name,
    email, phone, phone_e164, company, message, consent, custom) and ``utm`` (first and
    last touch, referrer, landing page).
    """

    type: ClassVar[str] = "form.submitted"
    version: ClassVar[int] = 1

    submission_id: int
    form_id: int
    form_key: str
    form_title: str
    contact_id: int
    created: bool
    owner_id: int | None = None
    channel: str = "html"
    values: dict[str, Any] = field(default_factory=dict)
    utm: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SubmissionReceived(Event):
    """A valid submission was stored, status ``received``, and acknowledged to the visitor.

    Published in the accepting transaction; the plugin's own outbox consumer turns it into a
    contact, an activity, ``form.submitted`` and ``lead.received``. Payload:
    ``submission_id``, ``form_id``. Each submission is its own ordering key, so one that
    fails does not hold back the others.
    """

    type: ClassVar[str] = "form.received"
    version: ClassVar[int] = 1

    submission_id: int
    form_id: int

    def key(self) -> str:
        return f"submission:{self.submission_id}"
