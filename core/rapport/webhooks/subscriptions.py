"""Webhook subscriptions: creating, editing, pausing, rotating secrets, removing."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from rapport.db.transaction import transaction
from rapport.events.tables import ConsumerCursor, DeliveryRetry, OutboxEvent
from rapport.plugins.tables import InstanceSetting
from rapport.webhooks.patterns import valid_pattern
from rapport.webhooks.tables import WebhookAttempt, WebhookSubscription
from rapport.webhooks.targets import check_url

ACTIVE, PAUSED, GONE = "active", "paused", "gone"
# Why a subscription is not active (``status_reason``): shown translated on the admin pages.
BY_ADMIN, FAILING, ANSWERED_GONE = "admin", "failing", "gone"
ALLOW_PRIVATE_KEY = "webhooks.allow_private_targets"
URL_LIMIT = 2000
# How long the old secret keeps signing next to the new one after a rotation.
ROTATION_GRACE = dt.timedelta(hours=24)
MAX_PATTERNS = 50


class WebhookError(ValueError):
    """Values a subscription cannot take; ``errors`` maps each field to a reason code
    (``url_scheme``, ``url_host``, ``url_invalid``, ``url_long``, ``types_empty``,
    ``types_invalid``)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def consumer_name(subscription_id: int) -> str:
    """The outbox consumer that delivers to one subscription (its own cursor and retries)."""
    return f"webhook:{subscription_id}"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def parse_types(text: str) -> list[str]:
    """Patterns from a comma-, space- or line-separated list, duplicates dropped."""
    seen: list[str] = []
    for part in text.replace(",", " ").split():
        if part not in seen:
            seen.append(part)
    return seen


def validate(url: str, event_types: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(url) > URL_LIMIT:
        errors["url"] = "url_long"
    elif problem := check_url(url):
        errors["url"] = problem
    if not event_types:
        errors["event_types"] = "types_empty"
    elif len(event_types) > MAX_PATTERNS or not all(valid_pattern(p) for p in event_types):
        errors["event_types"] = "types_invalid"
    return errors


def _row(row: dict[str, Any]) -> dict[str, Any]:
    types = row.get("event_types")
    if isinstance(types, str):
        row["event_types"] = json.loads(types)
    return row


async def create_subscription(
    url: str, event_types: list[str], description: str = "", created_by: int | None = None
) -> tuple[dict[str, Any], str]:
    """Store a subscription; return it and its secret (shown once, never again).

    It receives the events published from now on: its consumer's cursor starts after the
    newest event in the outbox, not at the beginning of history.
    """
    url = url.strip()
    errors = validate(url, event_types)
    if errors:
        raise WebhookError(errors)
    secret = new_secret()
    now = dt.datetime.now(dt.UTC)
    async with transaction():
        rows = await WebhookSubscription.insert(
            WebhookSubscription(
                url=url,
                description=description.strip()[:200],
                event_types=json.dumps(event_types),
                secret=secret,
                status=ACTIVE,
                created_at=now,
                created_by=created_by,
            )
        ).returning(WebhookSubscription.id)
        subscription_id = rows[0]["id"]
        newest = await OutboxEvent.raw("SELECT MAX(id) AS newest FROM rapport_outbox")
        await ConsumerCursor.insert(
            ConsumerCursor(
                consumer=consumer_name(subscription_id),
                position=int(newest[0]["newest"] or 0),
                updated_at=now,
                locked_by="",
                locked_until=None,
            )
        )
    subscription = await get_subscription(subscription_id)
    assert subscription is not None
    return subscription, secret


async def update_subscription(
    subscription_id: int, url: str, event_types: list[str], description: str = ""
) -> dict[str, Any]:
    url = url.strip()
    errors = validate(url, event_types)
    if errors:
        raise WebhookError(errors)
    await WebhookSubscription.update(
        {
            WebhookSubscription.url: url,
            WebhookSubscription.event_types: json.dumps(event_types),
            WebhookSubscription.description: description.strip()[:200],
        }
    ).where(WebhookSubscription.id == subscription_id)
    subscription = await get_subscription(subscription_id)
    if subscription is None:
        raise LookupError(subscription_id)
    return subscription


async def rotate_secret(subscription_id: int, grace: dt.timedelta = ROTATION_GRACE) -> str:
    """Give the subscription a new secret at once; return it.

    For ``grace`` after the rotation every request carries a second signature made with the
    old secret, so a receiver still holding it keeps accepting deliveries until it has been
    given the new one. ``grace`` of zero ends the old secret at once (when it leaked).
    """
    secret = new_secret()
    until = _now() + grace if grace > dt.timedelta(0) else None
    async with transaction():
        current = await (
            WebhookSubscription.select(WebhookSubscription.secret)
            .where(WebhookSubscription.id == subscription_id)
            .first()
        )
        if current is None:
            raise LookupError(subscription_id)
        await WebhookSubscription.update(
            {
                WebhookSubscription.secret: secret,
                WebhookSubscription.previous_secret: current["secret"] if until else "",
                WebhookSubscription.previous_secret_until: until,
            }
        ).where(WebhookSubscription.id == subscription_id)
    return secret


async def end_previous_secret(subscription_id: int) -> None:
    """Stop signing with the secret from before the last rotation, now."""
    await WebhookSubscription.update(
        {WebhookSubscription.previous_secret: "", WebhookSubscription.previous_secret_until: None}
    ).where(WebhookSubscription.id == subscription_id)


def signing_secrets(subscription: dict[str, Any], now: dt.datetime | None = None) -> list[str]:
    """The secrets a request is signed with: the current one, then the previous one while
    its grace lasts."""
    secrets_ = [subscription["secret"]]
    until = subscription.get("previous_secret_until")
    if subscription.get("previous_secret") and until is not None and until > (now or _now()):
        secrets_.append(subscription["previous_secret"])
    return secrets_


async def get_subscription(subscription_id: int) -> dict[str, Any] | None:
    row = (
        await WebhookSubscription.select().where(WebhookSubscription.id == subscription_id).first()
    )
    return _row(row) if row else None


async def list_subscriptions() -> list[dict[str, Any]]:
    """Every subscription, oldest first (an instance has a handful, not thousands)."""
    rows = await WebhookSubscription.select().order_by(WebhookSubscription.id)
    return [_row(r) for r in rows]


async def active_subscriptions() -> list[dict[str, Any]]:
    rows = await WebhookSubscription.select(
        WebhookSubscription.id, WebhookSubscription.event_types
    ).where(WebhookSubscription.status == ACTIVE)
    return [_row(r) for r in rows]


async def pause(subscription_id: int, reason: str = BY_ADMIN) -> bool:
    """Stop deliveries; events keep collecting and go out, in order, on :func:`resume`.
    False if it was not active."""
    rows = await WebhookSubscription.raw(
        "UPDATE rapport_webhook SET status = {}, status_reason = {}"
        " WHERE id = {} AND status = {} RETURNING id",
        PAUSED,
        reason,
        subscription_id,
        ACTIVE,
    )
    return bool(rows)


async def mark_gone(subscription_id: int) -> None:
    """The receiver answered 410 Gone: unsubscribed until an administrator resumes it."""
    await WebhookSubscription.update(
        {WebhookSubscription.status: GONE, WebhookSubscription.status_reason: ANSWERED_GONE}
    ).where(WebhookSubscription.id == subscription_id)


async def resume(subscription_id: int) -> None:
    """Deliver again, starting with the retries that were waiting, which come due at once."""
    now = dt.datetime.now(dt.UTC)
    async with transaction():
        await WebhookSubscription.update(
            {
                WebhookSubscription.status: ACTIVE,
                WebhookSubscription.status_reason: "",
                WebhookSubscription.failure_streak: 0,
                WebhookSubscription.failing_since: None,
            }
        ).where(WebhookSubscription.id == subscription_id)
        await DeliveryRetry.update({DeliveryRetry.next_attempt_at: now}).where(
            (DeliveryRetry.consumer == consumer_name(subscription_id))
            & (DeliveryRetry.status == "pending")
        )


async def delete_subscription(subscription_id: int) -> None:
    """Remove the subscription with its log, cursor and retries."""
    name = consumer_name(subscription_id)
    async with transaction():
        await WebhookAttempt.delete().where(WebhookAttempt.subscription_id == subscription_id)
        await DeliveryRetry.delete().where(DeliveryRetry.consumer == name)
        await ConsumerCursor.delete().where(ConsumerCursor.consumer == name)
        await WebhookSubscription.delete().where(WebhookSubscription.id == subscription_id)


async def note_success(subscription_id: int) -> None:
    await WebhookSubscription.update(
        {
            WebhookSubscription.failure_streak: 0,
            WebhookSubscription.failing_since: None,
            WebhookSubscription.last_success_at: dt.datetime.now(dt.UTC),
        }
    ).where(WebhookSubscription.id == subscription_id)


async def note_failure(subscription_id: int) -> tuple[int, dt.datetime]:
    """Count a failed attempt; return the streak and when it began."""
    now = dt.datetime.now(dt.UTC)
    rows = await WebhookSubscription.raw(
        "UPDATE rapport_webhook SET failure_streak = failure_streak + 1,"
        " failing_since = COALESCE(failing_since, {}) WHERE id = {}"
        " RETURNING failure_streak, failing_since",
        now,
        subscription_id,
    )
    if not rows:
        return 0, now
    since = rows[0]["failing_since"]
    if isinstance(since, str):
        since = dt.datetime.fromisoformat(since)
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return int(rows[0]["failure_streak"]), since


# --- settings ----------------------------------------------------------------------------------


async def private_targets_allowed() -> bool:
    """Whether the administrator lets webhooks call private and loopback addresses."""
    row = (
        await InstanceSetting.select(InstanceSetting.value)
        .where(InstanceSetting.key == ALLOW_PRIVATE_KEY)
        .output(load_json=True)
        .first()
    )
    return bool(row and row["value"])


async def allow_private_targets(allowed: bool) -> None:
    async with transaction():
        await InstanceSetting.delete().where(InstanceSetting.key == ALLOW_PRIVATE_KEY)
        await InstanceSetting.insert(
            InstanceSetting(key=ALLOW_PRIVATE_KEY, value=json.dumps(bool(allowed)))
        )
