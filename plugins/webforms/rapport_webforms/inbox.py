"""The inbox: every submission with filters, its raw payload, spam marking, re-processing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from rapport.api import gettext as _
from rapport.api import page, requires_permission, speaking

from rapport_webforms.definitions import map_values
from rapport_webforms.forms import form_by_id
from rapport_webforms.intake import (
    RECEIVED,
    clean_context,
    process_submission,
    take_submission,
    tell_the_owner,
)
from rapport_webforms.public import values_from_payload
from rapport_webforms.tables import Submission, WebForm

INBOX = "webforms.inbox"
GUARD = [requires_permission(INBOX)]
PAGE_SIZE = 50
STATUSES = ("received", "created", "attached", "failed", "spam", "invalid")
LIST_COLUMNS = (
    Submission.id,
    Submission.form_id,
    Submission.received_at,
    Submission.channel,
    Submission.status,
    Submission.spam_reason,
    Submission.mapped,
    Submission.contact_id,
    Submission.differences,
)

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def status_labels() -> dict[str, str]:
    return {
        "received": _("Received, being processed"),
        "failed": _("Processing failed"),
        "created": _("New contact"),
        "attached": _("Matched a contact"),
        "spam": _("Spam"),
        "invalid": _("Could not be read"),
    }


def reason_labels() -> dict[str, str]:
    return {
        "honeypot": _("Hidden field filled in"),
        "too_fast": _("Sent too fast"),
        "forged": _("Bad or missing token"),
        "missing": _("Bad or missing token"),
        "marked": _("Marked by a person"),
    }


def _day(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value or ""), dt.time(), dt.UTC)
    except ValueError:
        return None


async def page_of(
    *,
    form_id: int | None,
    status: str | None,
    spam: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    before: int | None,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page, newest first, keyset on id (``before``): indexes (form_id, id) and
    (status, id) serve the filters."""
    query = Submission.select(*LIST_COLUMNS).order_by(Submission.id, ascending=False)
    if form_id:
        query = query.where(Submission.form_id == form_id)
    if status in STATUSES:
        query = query.where(Submission.status == status)
    elif spam == "yes":
        query = query.where(Submission.status == "spam")
    elif spam == "no":
        query = query.where(Submission.status != "spam")
    if since:
        query = query.where(Submission.received_at >= since)
    if until:
        query = query.where(Submission.received_at < until + dt.timedelta(days=1))
    if before:
        query = query.where(Submission.id < before)
    rows = await query.limit(PAGE_SIZE + 1).output(load_json=True)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1]["id"] if more and rows else None)


@get("/webforms/inbox", name="webforms:inbox", guards=GUARD)
async def inbox_page(
    request: Request,
    form: FromQuery[int | None] = None,
    status: FromQuery[str | None] = None,
    spam: FromQuery[str | None] = None,
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    before: FromQuery[int | None] = None,
) -> Template:
    rows, next_before = await page_of(
        form_id=form,
        status=status,
        spam=spam,
        since=_day(since),
        until=_day(until),
        before=before,
    )
    forms = {
        r["id"]: r["title"]
        for r in await WebForm.select(WebForm.id, WebForm.title).order_by(WebForm.title)
    }
    spam_count = await Submission.count().where(Submission.status == "spam")
    filters = {
        "form": form or "",
        "status": status or "",
        "spam": spam or "",
        "since": since or "",
        "until": until or "",
    }
    return await page(
        request,
        "webforms/inbox.html",
        rows=rows,
        forms=forms,
        next_before=next_before,
        filters=filters,
        statuses=status_labels(),
        reasons=reason_labels(),
        spam_count=spam_count,
    )


async def _submission(submission_id: int) -> dict[str, Any]:
    row = (
        await Submission.select()
        .where(Submission.id == submission_id)
        .first()
        .output(load_json=True)
    )
    if row is None:
        raise NotFoundException()
    return row


@get("/webforms/submissions/{submission_id:int}", name="webforms:submission", guards=GUARD)
async def submission_page(
    request: Request, submission_id: FromPath[int], error: FromQuery[str | None] = None
) -> Template:
    row = await _submission(submission_id)
    form = await form_by_id(row["form_id"])
    return await page(
        request,
        "webforms/submission.html",
        row=row,
        form=form,
        raw=json.dumps(row["raw"], indent=2, ensure_ascii=False),
        statuses=status_labels(),
        reasons=reason_labels(),
        error=error,
    )


@post("/webforms/submissions/{submission_id:int}/spam", guards=GUARD)
async def mark_spam(submission_id: FromPath[int]) -> Redirect:
    """Mark as spam. A contact it created stays (archive it from its card if it is junk)."""
    await _submission(submission_id)
    await Submission.update({Submission.status: "spam", Submission.spam_reason: "marked"}).where(
        Submission.id == submission_id
    )
    return Redirect(f"/webforms/submissions/{submission_id}")


@post("/webforms/submissions/{submission_id:int}/reprocess", guards=GUARD)
async def reprocess(submission_id: FromPath[int]) -> Redirect:
    """Take a stored submission in again with the form as it is now: for one marked spam by
    mistake ("not spam"), or a form service payload the mapping could not read."""
    row = await _submission(submission_id)
    if row["status"] == RECEIVED:  # still waiting for the worker: process it now
        await process_submission(submission_id)
        return Redirect(f"/webforms/submissions/{submission_id}")
    form = await form_by_id(row["form_id"])
    if form is None:
        raise NotFoundException()
    if row["contact_id"] is not None:
        if row["status"] == "spam":  # marked by mistake: it was taken in already
            await Submission.update(
                {Submission.status: "attached", Submission.spam_reason: ""}
            ).where(Submission.id == submission_id)
            return Redirect(f"/webforms/submissions/{submission_id}")
        return Redirect(f"/webforms/submissions/{submission_id}?error=done")
    raw = row["raw"] or {}
    if row["channel"] == "webhook":
        values, context = values_from_payload(form, raw.get("payload"))
    else:
        values = dict(raw.get("values") or {})
        context = clean_context(raw.get("context") or {})
    values.pop("website_url", None)
    with speaking(form.language):
        mapped = map_values(form.fields, values, form.language)
    if mapped.errors:
        return Redirect(f"/webforms/submissions/{submission_id}?error=invalid")
    outcome = await take_submission(
        form, mapped, raw, context, row["channel"], row["ip"], existing_id=submission_id
    )
    await tell_the_owner(form, outcome, mapped.name or mapped.email or mapped.phone)
    return Redirect(f"/webforms/submissions/{submission_id}")


ROUTES = [inbox_page, submission_page, mark_spam, reprocess]
