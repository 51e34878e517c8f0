"""A unique index on users' calendar tokens (separate: raw steps run before added columns)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T21:41:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "user indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rapport", description=DESCRIPTION)

    async def create_indexes():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX rapport_user_calendar_token ON rapport_user (calendar_token)"
            " WHERE calendar_token IS NOT NULL"
        )

    manager.add_raw(create_indexes)
    return manager
