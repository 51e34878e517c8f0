"""The web forms plugin: manifest and hook implementations.

Forms built in the admin pages are embedded on a site three ways (a script snippet, an
iframe, a plain HTML form); each submission is matched to a contact through the core's
matching engine or creates one, is assigned by the core's assignment rules, logged on the
timeline and published as ``form.submitted`` and ``lead.received`` (the funnel, when
enabled, turns the latter into a deal). Only ``rapport.api`` is used from the core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request
from rapport.api import (
    ActivityKind,
    Consumer,
    CustomField,
    Event,
    JobDefinition,
    Manifest,
    MenuItem,
    Permission,
    Schedule,
    SettingField,
    gettext,
    hookimpl,
)

from rapport_webforms import admin, inbox, public, sweep
from rapport_webforms.events import FormSubmitted, SubmissionReceived
from rapport_webforms.intake import handle_received, handle_received_batch
from rapport_webforms.tables import Submission

HERE = Path(__file__).parent
MANAGE = "webforms.manage"
INBOX = "webforms.inbox"

manifest = Manifest(
    name="webforms",
    title="Web forms",
    version="0.1.0",
    description=(
        "Forms for your site (script snippet, iframe or plain HTML) and form-service "
        "webhooks: every request lands as a contact, assigned to the right person at once."
    ),
    category="Leads",
    business_types=("retail", "b2b"),
    piccolo_app="rapport_webforms.piccolo_app",
    settings=(
        SettingField(
            key="submissions_per_minute",
            label="Submissions a minute from one address",
            type="number",
            default=30,
            help="Set in rapport.toml: [webforms] submissions_per_minute = 30",
        ),
    ),
)


@hookimpl
def register_event_types() -> list[type[Event]]:
    return [FormSubmitted, SubmissionReceived]


@hookimpl
def register_event_consumers() -> list[Consumer]:
    # Processing of accepted submissions: at least once, retried while the database is
    # unavailable; process_submission skips one already done. Up to 25 in one transaction;
    # a batch that fails is processed one by one.
    return [
        Consumer(
            "webforms.intake",
            handle_received,
            types=(SubmissionReceived.type,),
            max_attempts=50,
            backoff_base=1.0,
            backoff_cap=60.0,
            handle_batch=handle_received_batch,
            batch_size=10,
        )
    ]


@hookimpl
def register_jobs() -> list[JobDefinition]:
    return list(sweep.JOBS)


@hookimpl
def register_schedules() -> list[Schedule]:
    # Submissions whose event the outbox gave up on are queued again.
    return list(sweep.SCHEDULES)


@hookimpl
def register_activity_kinds() -> list[ActivityKind]:
    return [
        ActivityKind(
            "form_submitted",
            "Form submitted",
            icon="inbox",
            payload_fields={
                "submission_id": "int",
                "form_id": "int",
                "form_title": "str",
                "created": "bool",
                "utm": "dict",
                "differences": "dict",
            },
        )
    ]


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission(MANAGE, "Build and embed web forms", ("admin", "manager")),
        Permission(INBOX, "See the web forms inbox and mark spam", ("admin", "manager")),
    ]


@hookimpl
def register_custom_fields() -> list[CustomField]:
    # Shown on every contact card; first touch is set once, last touch on every submission.
    return [
        CustomField("company_name", "Company (from a form)"),
        CustomField("utm_source", "UTM source (first touch)"),
        CustomField("utm_medium", "UTM medium (first touch)"),
        CustomField("utm_campaign", "UTM campaign (first touch)"),
        CustomField("utm_term", "UTM term (first touch)"),
        CustomField("utm_content", "UTM content (first touch)"),
        CustomField("last_utm_source", "UTM source (last touch)"),
        CustomField("last_utm_medium", "UTM medium (last touch)"),
        CustomField("last_utm_campaign", "UTM campaign (last touch)"),
        CustomField("referrer", "Referrer"),
        CustomField("landing_page", "Landing page"),
    ]


@hookimpl
def register_routes() -> list[Any]:
    return [*public.ROUTES, *admin.ROUTES, *inbox.ROUTES]


@hookimpl
def register_template_dirs() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def register_static_dirs() -> list[Path]:
    # Served under /static/plugins/webforms/: the embeddable snippet and the form page's styles.
    return [HERE / "static"]


@hookimpl
def register_translations() -> list[Path]:
    return [HERE / "locale"]


@hookimpl
def menu_items(request: Request) -> list[MenuItem]:
    return [
        MenuItem(
            gettext("Forms inbox"),
            "/webforms/inbox",
            order=300,
            permission=INBOX,
            key="webforms-inbox",
        ),
        MenuItem(gettext("Web forms"), "/webforms", order=310, permission=MANAGE, key="webforms"),
    ]


@hookimpl
async def merge_contacts(winner_id: int, loser_id: int) -> None:
    """The loser's submissions now belong to the winner."""
    await Submission.update({Submission.contact_id: winner_id}).where(
        Submission.contact_id == loser_id
    )
