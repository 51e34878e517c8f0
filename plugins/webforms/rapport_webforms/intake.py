"""Taking a submission in, in two steps: accept it durably, then process it.

:func:`accept_submission` is what the public endpoints wait for: one short transaction that
stores the validated submission (raw and mapped, status ``received``) with a
``form.received`` event in the outbox. The caller answers 2xx only after it commits; when the
database cannot take the write it raises, and the caller answers 503.

:func:`process_submission` runs in the background worker, as the plugin's outbox consumer of
``form.received``. Everything processing changes commits together or not at all: the claim
of the submission (``received`` → its outcome), the contact (new, or new channels and
attribution on an existing one), the owner chosen by the assignment rules, the "form
submitted" activity, and the ``form.submitted`` and ``lead.received`` events. A crash
rolls it all back and leaves the submission ``received``; the redelivered event processes it
then, and a submission already processed is skipped, so nothing is done twice.

Matching goes through the core's one engine (``match_contact``: normalised email, then
E.164 phone). An existing contact's data is never overwritten: a name or a value that
differs is written into the submission's ``differences`` (and the activity) for a person to
review; only new emails and phones are added, and empty fields filled.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from rapport.api import (
    DuplicateContact,
    GroupCommit,
    LeadReceived,
    Statement,
    choose_owner,
    create_contact,
    database_unavailable,
    get_contact,
    gettext,
    limit_lock_wait,
    log_activity,
    match_contact,
    notify_user,
    publish,
    record_assignment,
    speaking,
    transaction,
    update_contact,
    user_language,
)

from rapport_webforms.definitions import Mapped, mapped_from_json
from rapport_webforms.events import FormSubmitted, SubmissionReceived
from rapport_webforms.forms import Form, form_by_id
from rapport_webforms.tables import Submission

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 3.0
FIRST_TOUCH = {
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
}
LAST_TOUCH = {
    "utm_source": "last_utm_source",
    "utm_medium": "last_utm_medium",
    "utm_campaign": "last_utm_campaign",
}
PAGE_FIELDS = {"referrer": "referrer", "landing_page": "landing_page"}


@dataclass(frozen=True)
class Outcome:
    submission_id: int
    contact_id: int
    created: bool
    owner_id: int | None
    differences: dict[str, Any]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def clean_context(raw: dict[str, Any]) -> dict[str, Any]:
    """The attribution a snippet or page sent: first and last touch UTM, referrer, landing
    page — strings only, cut to sane lengths."""

    def touch(value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            return {}
        return {k: str(value[k])[:200] for k in FIRST_TOUCH if value.get(k)}

    return {
        "first": touch(raw.get("first")),
        "last": touch(raw.get("last")),
        "referrer": str(raw.get("referrer") or "")[:500],
        "landing_page": str(raw.get("landing_page") or "")[:500],
    }


def _attribution(context: dict[str, Any], *, new: bool, stored: dict[str, Any]) -> dict[str, Any]:
    """Custom-field values for the contact: first touch and page facts only where empty (a
    new contact has all empty), last touch always (it is the latest by definition)."""
    first = context.get("first") or context.get("last") or {}
    last = context.get("last") or first
    values: dict[str, Any] = {}
    for key, field in FIRST_TOUCH.items():
        if first.get(key) and (new or not stored.get(field)):
            values[field] = first[key]
    for key, field in PAGE_FIELDS.items():
        if context.get(key) and (new or not stored.get(field)):
            values[field] = context[key]
    for key, field in LAST_TOUCH.items():
        if last.get(key):
            values[field] = last[key]
    return values


async def store_spam(
    form: Form, reason: str, raw: dict[str, Any], context: dict[str, Any], channel: str, ip: str
) -> int:
    """Keep a refused submission (honeypot, too fast…) so the inbox can count and show it."""
    async with transaction():
        rows = await Submission.insert(
            Submission(
                form_id=form.id,
                received_at=_now(),
                channel=channel,
                status="spam",
                spam_reason=reason,
                raw=json.dumps(raw, default=str),
                context=json.dumps(context),
                ip=ip,
            )
        ).returning(Submission.id)
    return rows[0]["id"]


async def _create(form: Form, mapped: Mapped, context: dict[str, Any]) -> tuple[int, int | None]:
    facts = {"source": form.source, "country": "", "city": "", "region": "", **mapped.address}
    decision = await choose_owner(facts, rule_id=form.rule_id)
    custom = {**mapped.custom, **_attribution(context, new=True, stored={})}
    if mapped.company:
        custom["company_name"] = mapped.company
    data: dict[str, Any] = {
        "name": mapped.name or mapped.email or mapped.phone,
        "source": form.source,
        "emails": [mapped.email] if mapped.email else [],
        "phones": [mapped.phone] if mapped.phone else [],
        "tags": form.tags,
        "custom": custom,
        **mapped.address,
    }
    if decision is not None:
        data["owner_id"] = decision.user_id
    contact_id = await create_contact(data)
    if decision is not None:
        await record_assignment(contact_id, decision)
    return contact_id, decision.user_id if decision else None


async def _attach(
    contact_id: int, form: Form, mapped: Mapped, context: dict[str, Any]
) -> tuple[dict[str, Any], int | None]:
    """Add what is new to an existing contact; return the differences left for a person."""
    stored = await get_contact(contact_id)
    differences: dict[str, Any] = {}
    if mapped.name and mapped.name.casefold() != (stored["name"] or "").casefold():
        differences["name"] = [stored["name"], mapped.name]
    for key, value in mapped.address.items():
        if stored[key] and str(stored[key]).casefold() != value.casefold():
            differences[key] = [stored[key], value]
    custom_now = stored["custom"] or {}
    custom: dict[str, Any] = {}
    offered = dict(mapped.custom)
    if mapped.company:
        offered["company_name"] = mapped.company
    for key, value in offered.items():
        if custom_now.get(key) in (None, ""):
            custom[key] = value
        elif str(custom_now[key]).casefold() != str(value).casefold():
            differences[key] = [custom_now[key], value]
    custom.update(_attribution(context, new=False, stored=custom_now))
    changes: dict[str, Any] = {}
    emails = [e["normalized"] for e in stored["emails"]]
    if mapped.email and mapped.email.strip().lower() not in emails:
        changes["emails"] = [
            {"value": e["email"], "label": e["label"]} for e in stored["emails"]
        ] + [mapped.email]
    if mapped.phone_e164 and mapped.phone_e164 not in [p["e164"] for p in stored["phones"]]:
        changes["phones"] = [{"value": p["raw"], "label": p["label"]} for p in stored["phones"]] + [
            mapped.phone
        ]
    if form.tags:
        known = {t.casefold() for t in stored["tags"]}
        missing = [t for t in form.tags if t.casefold() not in known]
        if missing:
            changes["tags"] = [*stored["tags"], *missing]
    if custom and any(custom_now.get(k) != v for k, v in custom.items()):
        changes["custom"] = custom
    if not stored["source"] and form.source:
        changes["source"] = form.source
    for key, value in mapped.address.items():
        if not stored[key]:
            changes[key] = value
    if changes:
        # A channel that belongs to yet another contact is kept as a difference instead.
        try:
            await update_contact(contact_id, changes)
        except DuplicateContact:
            for key in ("emails", "phones"):
                if key in changes:
                    differences[key] = ["belongs to another contact", changes.pop(key)[-1]]
            if changes:
                await update_contact(contact_id, changes)
    return differences, stored["owner"]


async def take_submission(
    form: Form,
    mapped: Mapped,
    raw: dict[str, Any],
    context: dict[str, Any],
    channel: str,
    ip: str,
    existing_id: int | None = None,
) -> Outcome:
    """Store one valid submission and everything it causes, in one transaction.

    ``existing_id`` re-processes a stored submission (one marked spam by mistake, or a form
    service payload that failed the mapping) instead of adding a row.
    """
    async with transaction():
        await limit_lock_wait(LOCK_WAIT_SECONDS)
        found = await match_contact(email=mapped.email or None, phone=mapped.phone or None)
        created = found is None
        if created:
            try:
                contact_id, owner_id = await _create(form, mapped, context)
                differences: dict[str, Any] = {}
            except DuplicateContact as exc:  # matched meanwhile (PostgreSQL, READ COMMITTED)
                created = False
                contact_id = exc.matches[0].contact_id
                differences, owner_id = await _attach(contact_id, form, mapped, context)
        else:
            contact_id = found.id
            differences, owner_id = await _attach(contact_id, form, mapped, context)
        values = mapped.as_json()
        status = "created" if created else "attached"
        if existing_id is not None:
            await Submission.update(
                {
                    Submission.status: status,
                    Submission.spam_reason: "",
                    Submission.error: "",
                    Submission.mapped: json.dumps(values),
                    Submission.differences: json.dumps(differences),
                    Submission.contact_id: contact_id,
                    Submission.assigned_to: owner_id,
                }
            ).where(Submission.id == existing_id)
            submission_id = existing_id
        else:
            rows = await Submission.insert(
                Submission(
                    form_id=form.id,
                    received_at=_now(),
                    channel=channel,
                    status=status,
                    raw=json.dumps(raw, default=str),
                    mapped=json.dumps(values),
                    context=json.dumps(context),
                    differences=json.dumps(differences),
                    contact_id=contact_id,
                    assigned_to=owner_id,
                    ip=ip,
                )
            ).returning(Submission.id)
            submission_id = rows[0]["id"]
        await log_activity(
            contact_id,
            "form_submitted",
            body=mapped.message,
            payload={
                "submission_id": submission_id,
                "form_id": form.id,
                "form_title": form.title,
                "created": created,
                "consent": mapped.consent,
                "utm": context,
                "differences": differences,
            },
        )
        await publish(
            FormSubmitted(
                submission_id=submission_id,
                form_id=form.id,
                form_key=form.key,
                form_title=form.title,
                contact_id=contact_id,
                created=created,
                owner_id=owner_id,
                channel=channel,
                values=values,
                utm=context,
            )
        )
        await publish(
            LeadReceived(
                contact_id=contact_id,
                title=form.title,
                source=form.source,
                origin="webforms",
                pipeline=form.pipeline or None,
                stage=form.stage or None,
                utm=context,
            )
        )
    return Outcome(submission_id, contact_id, created, owner_id, differences)


async def tell_the_owner(form: Form, outcome: Outcome, who: str) -> None:
    """A live notification to the contact's owner (after commit; best effort)."""
    if outcome.owner_id is None:
        return
    try:
        with speaking(await user_language(outcome.owner_id)):
            title = gettext("New form submission: %(form)s", form=form.title)
            body = who
        await notify_user(outcome.owner_id, title, body, url=f"/contacts/{outcome.contact_id}")
    except Exception:  # a notification must never turn a stored submission into an error
        log.warning("webforms: could not notify user %s", outcome.owner_id, exc_info=True)


RECEIVED, FAILED = "received", "failed"
ERROR_LIMIT = 2000


# The accepting write: fixed statements (no query building per request), and concurrent
# submissions of this process share one transaction (see rapport.api.GroupCommit).
_ACCEPT = Statement(
    "INSERT INTO webforms_submission (form_id, received_at, channel, status, spam_reason,"
    " raw, mapped, context, differences, ip, error)"
    " VALUES ({}, {}, {}, {}, '', {}, {}, {}, {}, {}, '') RETURNING id"
)
accepting = GroupCommit()


async def accept_submission(
    form: Form,
    mapped: Mapped,
    raw: dict[str, Any],
    context: dict[str, Any],
    channel: str,
    ip: str,
) -> int:
    """Store a valid submission for processing, durably; return its id once committed."""
    values = (
        form.id,
        _now(),
        channel,
        RECEIVED,
        json.dumps(raw, default=str),
        json.dumps(mapped.as_json()),
        json.dumps(context),
        "{}",
        ip,
    )

    async def write() -> int:
        await limit_lock_wait(LOCK_WAIT_SECONDS)
        rows = await _ACCEPT.fetch(*values)
        submission_id = int(rows[0]["id"])
        await publish(SubmissionReceived(submission_id=submission_id, form_id=form.id))
        return submission_id

    return await accepting.run(write)


def _loaded(value: Any, empty: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value else empty
    return value if value is not None else empty


# The claim and the outcome commit together: a racing or repeated delivery finds the status
# changed and skips.
_CLAIM = Statement(
    "UPDATE webforms_submission SET status = 'processing'"
    " WHERE id = {} AND status = 'received'"
    " RETURNING form_id, channel, ip, raw, mapped, context"
)


async def _process_claimed(
    submission_id: int, forms: dict[int, Form | None]
) -> tuple[Form, Mapped, Outcome] | None:
    """Inside the caller's transaction: claim one submission and do everything it causes."""
    row = await _CLAIM.fetch_one(submission_id)
    if row is None:
        return None
    form_id = int(row["form_id"])
    if form_id not in forms:
        forms[form_id] = await form_by_id(form_id)
    form = forms[form_id]
    if form is None:
        raise LookupError(f"form {form_id} no longer exists")
    mapped = mapped_from_json(_loaded(row["mapped"], {}))
    outcome = await take_submission(
        form,
        mapped,
        _loaded(row["raw"], {}),
        _loaded(row["context"], {}),
        row["channel"],
        row["ip"],
        existing_id=submission_id,
    )
    return form, mapped, outcome


async def _tell(done: list[tuple[Form, Mapped, Outcome]]) -> None:
    for form, mapped, outcome in done:
        await tell_the_owner(form, outcome, mapped.name or mapped.email or mapped.phone)


async def process_submission(submission_id: int) -> Outcome | None:
    """Process one received submission; None when it is not waiting (done already, or gone).

    A failure of the database itself is raised, for the outbox to retry later; any other
    error marks the submission ``failed`` with the reason, for a person to look at.
    """
    try:
        async with transaction():
            await limit_lock_wait(LOCK_WAIT_SECONDS)
            done = await _process_claimed(submission_id, {})
    except Exception as exc:
        if database_unavailable(exc):
            raise
        log.exception("webforms: submission %s could not be processed", submission_id)
        reason = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
        await Submission.update({Submission.status: FAILED, Submission.error: reason}).where(
            (Submission.id == submission_id) & (Submission.status == RECEIVED)
        )
        return None
    if done is None:
        return None
    await _tell([done])
    return done[2]


async def process_submissions(submission_ids: list[int]) -> list[Outcome]:
    """Process several received submissions in one transaction; the outcomes of those that
    were waiting (others are skipped, as one by one).

    All or nothing: if any of them fails, nothing of the batch is kept and the error is
    raised, so the caller processes each alone (:func:`process_submission`), where a failure
    marks only its own submission. The forms are read once per batch.
    """
    forms: dict[int, Form | None] = {}
    done: list[tuple[Form, Mapped, Outcome]] = []
    async with transaction():
        await limit_lock_wait(LOCK_WAIT_SECONDS)
        for submission_id in submission_ids:
            result = await _process_claimed(submission_id, forms)
            if result is not None:
                done.append(result)
    await _tell(done)
    return [outcome for _form, _mapped, outcome in done]


async def handle_received(event: Any, meta: Any) -> None:
    """The outbox consumer's handler for ``form.received``."""
    await process_submission(int(event.submission_id))


async def handle_received_batch(items: list[tuple[Any, Any]]) -> None:
    """The consumer's batch form: several ``form.received`` in one transaction. If it raises,
    the outbox hands each event to :func:`handle_received` alone."""
    await process_submissions([int(event.submission_id) for event, _meta in items])
