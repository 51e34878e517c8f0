"""Admin: outgoing webhooks — subscriptions, their secrets, the delivery log, redelivery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.web.i18n import gettext as _
from rapport.web.pages.admin_common import SETTINGS, Form, admin_page, current_user, guarded, text
from rapport.webhooks import outbound, subscriptions
from rapport.webhooks.subscriptions import WebhookError

LOG_PAGE = 50


def _messages() -> dict[str, str]:
    return {
        "url_scheme": _("The address must start with https:// or http://."),
        "url_host": _("The address needs a host name."),
        "url_invalid": _("This is not a usable web address."),
        "url_long": _("The address is too long."),
        "types_empty": _("Name at least one event type, or * for all of them."),
        "types_invalid": _(
            "Use event types such as contact.created, patterns such as contact.*, or *."
        ),
    }


def _status_labels() -> dict[str, str]:
    return {
        subscriptions.ACTIVE: _("Active"),
        subscriptions.PAUSED: _("Paused"),
        subscriptions.GONE: _("Unsubscribed by the receiver"),
    }


def _outcome_labels() -> dict[str, str]:
    return {
        "delivered": _("Delivered"),
        "failed": _("Failed"),
        "refused": _("Refused address"),
        "gone": _("Gone (410)"),
    }


def _trigger_labels() -> dict[str, str]:
    return {"delivery": _("Delivery"), "redeliver": _("Redelivery"), "ping": _("Test ping")}


def _form_values(data: dict[str, Any]) -> dict[str, str]:
    return {
        "url": text(data, "url", subscriptions.URL_LIMIT + 1),
        "event_types": text(data, "event_types", 2000),
        "description": text(data, "description", 200),
    }


def _errors(exc: WebhookError) -> dict[str, str]:
    messages = _messages()
    return {field: messages.get(code, code) for field, code in exc.errors.items()}


async def _subscription(subscription_id: int) -> dict[str, Any]:
    found = await subscriptions.get_subscription(subscription_id)
    if found is None:
        raise NotFoundException()
    return found


@get("/admin/webhooks", name="admin-webhooks", **guarded(SETTINGS))
async def webhooks_page(request: Request, saved: FromQuery[str | None] = None) -> Template:
    items = await subscriptions.list_subscriptions()
    return await admin_page(
        request,
        "admin/webhooks.html",
        "webhooks",
        subscriptions=items,
        needing_attention=[s for s in items if s["status"] != subscriptions.ACTIVE],
        statuses=_status_labels(),
        allow_private=await subscriptions.private_targets_allowed(),
        saved=bool(saved),
    )


@post("/admin/webhooks/settings", **guarded(SETTINGS))
async def save_webhook_settings(data: Form) -> Redirect:
    await subscriptions.allow_private_targets(text(data, "allow_private") == "on")
    return Redirect("/admin/webhooks?saved=1")


async def _edit_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    subscription: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    return await admin_page(
        request,
        "admin/webhook_edit.html",
        "webhooks",
        status_code=status_code,
        values=values,
        errors=errors,
        subscription=subscription,
    )


@get("/admin/webhooks/new", name="admin-webhook-new", **guarded(SETTINGS))
async def new_webhook_page(request: Request) -> Template:
    return await _edit_page(request, {"url": "", "event_types": "*", "description": ""}, {})


async def _secret_page(request: Request, subscription: dict[str, Any], secret: str) -> Template:
    """The only page that ever shows the secret."""
    return await admin_page(
        request,
        "admin/webhook_secret.html",
        "webhooks",
        subscription=subscription,
        secret=secret,
        old_secret_until=_old_secret_until(subscription),
    )


@post("/admin/webhooks", **guarded(SETTINGS))
async def create_webhook(request: Request, data: Form) -> Template:
    values = _form_values(data)
    try:
        subscription, secret = await subscriptions.create_subscription(
            values["url"],
            subscriptions.parse_types(values["event_types"]),
            values["description"],
            created_by=current_user(request)["id"],
        )
    except WebhookError as exc:
        return await _edit_page(request, values, _errors(exc), status_code=400)
    return await _secret_page(request, subscription, secret)


@get("/admin/webhooks/{subscription_id:int}", name="admin-webhook", **guarded(SETTINGS))
async def webhook_page(
    request: Request,
    subscription_id: FromPath[int],
    before: FromQuery[int | None] = None,
    saved: FromQuery[str | None] = None,
) -> Template:
    subscription = await _subscription(subscription_id)
    attempts = await outbound.attempt_log(subscription_id, before, LOG_PAGE + 1)
    more = len(attempts) > LOG_PAGE
    attempts = attempts[:LOG_PAGE]
    dead = await outbound.dead_event_ids(
        subscription_id, sorted({a["event_id"] for a in attempts if a["event_id"] is not None})
    )
    return await admin_page(
        request,
        "admin/webhook.html",
        "webhooks",
        subscription=subscription,
        values={
            "url": subscription["url"],
            "event_types": ", ".join(subscription["event_types"]),
            "description": subscription["description"],
        },
        errors={},
        attempts=attempts,
        dead=dead,
        next_before=attempts[-1]["id"] if more else None,
        paged=before is not None,
        statuses=_status_labels(),
        outcomes=_outcome_labels(),
        triggers=_trigger_labels(),
        saved=saved or "",
        old_secret_until=_old_secret_until(subscription),
    )


def _old_secret_until(subscription: dict[str, Any]) -> dt.datetime | None:
    """Until when the secret from before the last rotation still signs, if it does."""
    if len(subscriptions.signing_secrets(subscription)) > 1:
        return subscription["previous_secret_until"]
    return None


@post("/admin/webhooks/{subscription_id:int}", **guarded(SETTINGS))
async def update_webhook(
    request: Request, subscription_id: FromPath[int], data: Form
) -> Template | Redirect:
    subscription = await _subscription(subscription_id)
    values = _form_values(data)
    try:
        await subscriptions.update_subscription(
            subscription_id,
            values["url"],
            subscriptions.parse_types(values["event_types"]),
            values["description"],
        )
    except WebhookError as exc:
        return await _edit_page(request, values, _errors(exc), subscription, status_code=400)
    return Redirect(f"/admin/webhooks/{subscription_id}?saved=saved")


@post("/admin/webhooks/{subscription_id:int}/rotate", **guarded(SETTINGS))
async def rotate_webhook_secret(
    request: Request, subscription_id: FromPath[int], data: Form
) -> Template:
    await _subscription(subscription_id)
    # "now" when the old secret leaked: it must stop signing at once.
    grace = dt.timedelta(0) if text(data, "old", 10) == "now" else subscriptions.ROTATION_GRACE
    secret = await subscriptions.rotate_secret(subscription_id, grace)
    return await _secret_page(request, await _subscription(subscription_id), secret)


@post("/admin/webhooks/{subscription_id:int}/end-old-secret", **guarded(SETTINGS))
async def end_old_webhook_secret(subscription_id: FromPath[int]) -> Redirect:
    await _subscription(subscription_id)
    await subscriptions.end_previous_secret(subscription_id)
    return Redirect(f"/admin/webhooks/{subscription_id}?saved=old-secret-ended")


@post("/admin/webhooks/{subscription_id:int}/ping", **guarded(SETTINGS))
async def ping_webhook(subscription_id: FromPath[int]) -> Redirect:
    await _subscription(subscription_id)
    outcome = await outbound.ping(subscription_id)
    return Redirect(f"/admin/webhooks/{subscription_id}?saved=ping-{outcome.outcome}")


@post("/admin/webhooks/{subscription_id:int}/pause", **guarded(SETTINGS))
async def pause_webhook(subscription_id: FromPath[int]) -> Redirect:
    await _subscription(subscription_id)
    await subscriptions.pause(subscription_id, subscriptions.BY_ADMIN)
    return Redirect(f"/admin/webhooks/{subscription_id}?saved=paused")


@post("/admin/webhooks/{subscription_id:int}/resume", **guarded(SETTINGS))
async def resume_webhook(subscription_id: FromPath[int]) -> Redirect:
    await _subscription(subscription_id)
    await subscriptions.resume(subscription_id)
    return Redirect(f"/admin/webhooks/{subscription_id}?saved=resumed")


@post("/admin/webhooks/{subscription_id:int}/delete", **guarded(SETTINGS))
async def delete_webhook(subscription_id: FromPath[int]) -> Redirect:
    await _subscription(subscription_id)
    await subscriptions.delete_subscription(subscription_id)
    return Redirect("/admin/webhooks?saved=1")


@post(
    "/admin/webhooks/{subscription_id:int}/events/{event_id:int}/redeliver",
    **guarded(SETTINGS),
)
async def redeliver_event(subscription_id: FromPath[int], event_id: FromPath[int]) -> Redirect:
    await _subscription(subscription_id)
    try:
        outcome = await outbound.redeliver(subscription_id, event_id)
    except LookupError as exc:
        raise NotFoundException() from exc
    return Redirect(f"/admin/webhooks/{subscription_id}?saved=redeliver-{outcome.outcome}")


ROUTES = [
    webhooks_page,
    save_webhook_settings,
    new_webhook_page,
    create_webhook,
    webhook_page,
    update_webhook,
    rotate_webhook_secret,
    end_old_webhook_secret,
    ping_webhook,
    pause_webhook,
    resume_webhook,
    delete_webhook,
    redeliver_event,
]
