from piccolo.columns import JSON, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class OutboxEvent(Table, tablename="rapport_outbox"):
    """An event, written in the transaction of the change it describes."""

    type = Varchar(length=100, index=True)
    version = Integer(default=1)
    # Events with the same key are delivered in order (the contact they concern, usually).
    key = Varchar(length=100, default="")
    payload = JSON(default="{}")
    actor = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ConsumerCursor(Table, tablename="rapport_consumer_cursor"):
    """How far an asynchronous consumer has read the outbox."""

    consumer = Varchar(length=100, unique=True)
    position = BigInt(default=0)
    updated_at = Timestamptz(default=TimestamptzNow())
    # The worker delivering to this consumer holds a lease on the row, so two never interleave.
    locked_by = Varchar(length=100, default="")
    locked_until = Timestamptz(null=True, default=None)


class DeliveryRetry(Table, tablename="rapport_delivery_retry"):
    """An event a consumer failed to take; later events of its key wait behind it."""

    consumer = Varchar(length=100)
    event_id = BigInt()
    key = Varchar(length=100, default="")
    attempts = Integer(default=1)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    last_error = Text(default="")
    # "pending": the next attempt is due at next_attempt_at; "waiting": queued behind an
    # earlier event of its key, attempted once that one is through; "dead": given up.
    status = Varchar(length=16, default="pending")
