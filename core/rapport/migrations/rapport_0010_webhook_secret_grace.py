"""The secret a webhook subscription had before its last rotation, and until when it still
signs (so receivers can switch to the new secret without refusing a single delivery)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz, Varchar

from rapport.migrations import column_params

ID = "2026-12-01T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook secret rotation grace"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rapport", description=DESCRIPTION)
    for name, column_class, params in (
        ("previous_secret", Varchar, column_params(length=100, default="", secret=True)),
        ("previous_secret_until", Timestamptz, column_params(default=None, null=True)),
    ):
        manager.add_column(
            table_class_name="WebhookSubscription",
            tablename="rapport_webhook",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
