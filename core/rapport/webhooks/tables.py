from piccolo.columns import JSON, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class WebhookSubscription(Table, tablename="rapport_webhook"):
    """A URL an administrator subscribed to event types (exact, ``contact.*`` or ``*``)."""

    url = Varchar(length=2000)
    description = Varchar(length=200, default="")
    event_types = JSON(default="[]")
    # Needed in clear to sign each request; shown to the administrator only when made.
    secret = Varchar(length=100, secret=True)
    # After a rotation the old secret signs too, next to the new one, until this time.
    previous_secret = Varchar(length=100, default="", secret=True)
    previous_secret_until = Timestamptz(null=True, default=None)
    # "active", "paused" (by an administrator or after failing for hours) or "gone" (the
    # receiver answered 410 Gone: unsubscribed).
    status = Varchar(length=16, default="active")
    status_reason = Text(default="")  # "admin", "failing" or "gone" (see subscriptions)
    failure_streak = Integer(default=0)
    failing_since = Timestamptz(null=True, default=None)
    last_success_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Integer(null=True, default=None)


class WebhookAttempt(Table, tablename="rapport_webhook_attempt"):
    """One request to a subscription's URL (or one refused before it was sent)."""

    subscription_id = Integer()
    event_id = BigInt(null=True, default=None)  # outbox id; None for a test ping
    event_type = Varchar(length=100, default="")
    trigger = Varchar(length=16, default="delivery")  # delivery, redeliver, ping
    attempted_at = Timestamptz(default=TimestamptzNow())
    # "delivered" (2xx), "failed", "refused" (address not allowed) or "gone" (410).
    outcome = Varchar(length=16, default="failed")
    status_code = Integer(null=True, default=None)
    response_excerpt = Text(default="")
    error = Text(default="")
    duration_ms = Integer(default=0)
