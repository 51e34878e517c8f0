"""Webhook deliveries from the outbox: one consumer per subscription.

Each subscription is its own outbox consumer (``webhook:<id>``) with its own cursor and
retry rows, so a receiver that is down holds back only its own events, while the others go
on; within a subscription, events of one contact keep their order (the delivery machinery of
:mod:`rapport.events.delivery` holds later events of a key behind a failed one).

Retries back off from one minute, doubling to an hour, for 30 attempts: about a day. Then
the event is dead-lettered (it stays in the log with a *redeliver* button). A subscription
whose every attempt has failed for :data:`PAUSE_AFTER` and at least
:data:`PAUSE_AFTER_FAILURES` times is paused and the administrators are told; its events
wait and go out in order when it is resumed. A 410 Gone answer unsubscribes at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import secrets
from typing import Any

from rapport.events.base import Event, EventMeta, UnknownEvent
from rapport.events.consumers import Consumer
from rapport.events.tables import DeliveryRetry, OutboxEvent
from rapport.webhooks import sender, subscriptions
from rapport.webhooks.sender import Outcome

log = logging.getLogger("rapport.webhooks")

MAX_ATTEMPTS = 30  # 1, 2, 4 … 32 minutes, then hourly: the last attempt about 24 h after the first
BACKOFF_BASE = 60.0
BACKOFF_CAP = 3600.0
PAUSE_AFTER_FAILURES = 10
PAUSE_AFTER = dt.timedelta(hours=6)
PING_TYPE = "webhook.ping"


class DeliveryFailed(Exception):
    """The receiver did not take the event; the delivery machinery retries it later."""


async def webhook_consumers() -> list[Consumer]:
    """A consumer for every active subscription (read on each worker pass)."""
    return [
        Consumer(
            name=subscriptions.consumer_name(row["id"]),
            handle=functools.partial(deliver_event, row["id"]),
            types=tuple(row["event_types"]),
            max_attempts=MAX_ATTEMPTS,
            backoff_base=BACKOFF_BASE,
            backoff_cap=BACKOFF_CAP,
        )
        for row in await subscriptions.active_subscriptions()
    ]


def _payload(event: Event) -> Any:
    return event.payload if isinstance(event, UnknownEvent) else event.to_payload()


async def deliver_event(subscription_id: int, event: Event, meta: EventMeta) -> None:
    """Send one outbox event to one subscription; raise if it has to be tried again."""
    subscription = await subscriptions.get_subscription(subscription_id)
    if subscription is None or subscription["status"] != subscriptions.ACTIVE:
        # Paused or unsubscribed during this pass: keep the event for later, unsent.
        raise DeliveryFailed("the subscription is not active")
    body = sender.event_body(
        str(meta.id), meta.type, meta.version, meta.occurred_at, _payload(event)
    )
    outcome = await _send(subscription, str(meta.id), meta.type, body)
    await sender.record(subscription_id, meta.id, meta.type, "delivery", outcome)
    await _after(subscription, outcome)
    if not outcome.ok and outcome.outcome != sender.GONE:
        raise DeliveryFailed(outcome.summary())


async def _send(
    subscription: dict[str, Any], event_id: str, event_type: str, body: bytes
) -> Outcome:
    return await sender.post(
        subscription["url"],
        subscriptions.signing_secrets(subscription),
        event_id,
        event_type,
        body,
        allow_private=await subscriptions.private_targets_allowed(),
    )


async def _after(subscription: dict[str, Any], outcome: Outcome) -> None:
    """Keep the subscription's health: reset the failure streak, pause it, or unsubscribe."""
    subscription_id = subscription["id"]
    if outcome.ok:
        await subscriptions.note_success(subscription_id)
        return
    if outcome.outcome == sender.GONE:
        await subscriptions.mark_gone(subscription_id)
        log.warning("webhook %s unsubscribed: its receiver answered 410 Gone", subscription_id)
        await _tell_admins(subscription, gone=True)
        return
    streak, since = await subscriptions.note_failure(subscription_id)
    failing_for = dt.datetime.now(dt.UTC) - since
    if streak >= PAUSE_AFTER_FAILURES and failing_for >= PAUSE_AFTER:
        if await subscriptions.pause(subscription_id, subscriptions.FAILING):
            log.warning(
                "webhook %s paused: %s failed attempts in a row since %s",
                subscription_id,
                streak,
                since.isoformat(timespec="minutes"),
            )
            await _tell_admins(subscription, gone=False)


async def _tell_admins(subscription: dict[str, Any], gone: bool) -> None:
    """A live notification to every active user who manages settings."""
    from rapport.users.tables import RolePermission, User
    from rapport.web.i18n import gettext as _
    from rapport.web.live import notify_user, speaking, user_language

    roles = await RolePermission.select(RolePermission.role).where(
        RolePermission.permission == "settings.manage"
    )
    names = {"admin", *(r["role"] for r in roles)}
    users = await User.select(User.id).where(
        User.role.is_in(sorted(names)) & (User.is_active == True)  # noqa: E712 - SQL
    )
    url = f"/admin/webhooks/{subscription['id']}"
    for user in users:
        try:
            with speaking(await user_language(user["id"])):
                if gone:
                    title = _("A webhook was unsubscribed")
                    body = _("%(url)s answered 410 Gone.", url=subscription["url"])
                else:
                    title = _("A webhook was paused")
                    body = _(
                        "%(url)s keeps failing; its events wait until you resume it.",
                        url=subscription["url"],
                    )
            await notify_user(user["id"], title, body, url)
        except Exception:  # telling admins must never break the delivery
            log.warning(
                "could not notify user %s about webhook %s",
                user["id"],
                subscription["id"],
                exc_info=True,
            )


async def redeliver(subscription_id: int, event_id: int) -> Outcome:
    """Send an outbox event to a subscription again now, whatever its status (an admin's
    choice); a success clears the event's dead-letter mark."""
    subscription = await subscriptions.get_subscription(subscription_id)
    if subscription is None:
        raise LookupError(subscription_id)
    rows = await OutboxEvent.raw(
        "SELECT id, type, version, payload, created_at FROM rapport_outbox WHERE id = {}",
        event_id,
    )
    if not rows:
        raise LookupError(event_id)
    row = rows[0]
    payload = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
    occurred = row["created_at"]
    if isinstance(occurred, str):
        occurred = dt.datetime.fromisoformat(occurred)
    body = sender.event_body(str(row["id"]), row["type"], row["version"], occurred, payload)
    outcome = await _send(subscription, str(row["id"]), row["type"], body)
    await sender.record(subscription_id, row["id"], row["type"], "redeliver", outcome)
    if outcome.ok:
        await DeliveryRetry.delete().where(
            (DeliveryRetry.consumer == subscriptions.consumer_name(subscription_id))
            & (DeliveryRetry.event_id == event_id)
            & (DeliveryRetry.status == "dead")
        )
    return outcome


async def ping(subscription_id: int) -> Outcome:
    """Send a ``webhook.ping`` (not from the outbox) so an admin can test the receiver."""
    subscription = await subscriptions.get_subscription(subscription_id)
    if subscription is None:
        raise LookupError(subscription_id)
    event_id = "ping-" + secrets.token_hex(8)
    payload = {"subscription_id": subscription_id}
    body = sender.event_body(event_id, PING_TYPE, 1, dt.datetime.now(dt.UTC), payload)
    outcome = await _send(subscription, event_id, PING_TYPE, body)
    await sender.record(subscription_id, None, PING_TYPE, "ping", outcome)
    return outcome


async def dead_event_ids(subscription_id: int, event_ids: list[int]) -> set[int]:
    """Which of ``event_ids`` the subscription gave up on (for the log's marks)."""
    if not event_ids:
        return set()
    rows = await DeliveryRetry.select(DeliveryRetry.event_id).where(
        (DeliveryRetry.consumer == subscriptions.consumer_name(subscription_id))
        & (DeliveryRetry.status == "dead")
        & DeliveryRetry.event_id.is_in(event_ids)
    )
    return {int(r["event_id"]) for r in rows}


async def attempt_log(
    subscription_id: int, before: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Attempts newest first, a page at a time (keyset on the attempt id)."""
    from rapport.webhooks.tables import WebhookAttempt

    query = WebhookAttempt.select().where(WebhookAttempt.subscription_id == subscription_id)
    if before is not None:
        query = query.where(WebhookAttempt.id < before)
    return await query.order_by(WebhookAttempt.id, ascending=False).limit(limit)
