"""Outgoing webhooks: subscriptions and the log of delivery attempts.

The tables are frozen copies made here, so later changes to ``rapport.webhooks.tables`` do not
alter what this migration creates; the composite indexes serve the delivery log (newest first
per subscription, per event), the one on the time its daily pruning.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import JSON, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

ID = "2026-12-01T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outgoing webhooks"


class WebhookSubscription(Table, tablename="rapport_webhook"):
    url = Varchar(length=2000)
    description = Varchar(length=200, default="")
    event_types = JSON(default="[]")
    secret = Varchar(length=100)
    status = Varchar(length=16, default="active")
    status_reason = Text(default="")
    failure_streak = Integer(default=0)
    failing_since = Timestamptz(null=True, default=None)
    last_success_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Integer(null=True, default=None)


class WebhookAttempt(Table, tablename="rapport_webhook_attempt"):
    subscription_id = Integer()
    event_id = BigInt(null=True, default=None)
    event_type = Varchar(length=100, default="")
    trigger = Varchar(length=16, default="delivery")
    attempted_at = Timestamptz(default=TimestamptzNow())
    outcome = Varchar(length=16, default="failed")
    status_code = Integer(null=True, default=None)
    response_excerpt = Text(default="")
    error = Text(default="")
    duration_ms = Integer(default=0)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rapport", description=DESCRIPTION)

    async def create_tables():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for table in (WebhookSubscription, WebhookAttempt):
            table._meta.db = engine  # the engine of this run, not one bound earlier
            await table.create_table().run()
        await engine.run_ddl(
            "CREATE INDEX rapport_webhook_attempt_log"
            " ON rapport_webhook_attempt (subscription_id, id)"
        )
        await engine.run_ddl(
            "CREATE INDEX rapport_webhook_attempt_event"
            " ON rapport_webhook_attempt (subscription_id, event_id, id)"
        )
        await engine.run_ddl(
            "CREATE INDEX rapport_webhook_attempt_time ON rapport_webhook_attempt (attempted_at)"
        )

    async def drop_tables():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        await engine.run_ddl("DROP TABLE rapport_webhook_attempt")
        await engine.run_ddl("DROP TABLE rapport_webhook")

    manager.add_raw(create_tables)
    manager.add_raw_backwards(drop_tables)
    return manager
