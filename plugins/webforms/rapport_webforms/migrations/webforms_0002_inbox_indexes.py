"""The indexes the inbox pages by: keyset on id within a form, or within a status.

A migration of its own: Piccolo runs a migration's raw steps before the columns it adds.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T12:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webforms: inbox indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="webforms", description=DESCRIPTION)

    async def composite_indexes():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for name, columns in [
            ("webforms_submission_form_page", "form_id, id"),
            ("webforms_submission_status_page", "status, id"),
        ]:
            await engine.run_ddl(f"CREATE INDEX {name} ON webforms_submission ({columns})")

    manager.add_raw(composite_indexes)
    return manager
