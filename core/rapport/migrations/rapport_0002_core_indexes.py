"""Composite, partial and unique indexes the core's list, timeline and queue queries use."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T21:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "core indexes"

STATEMENTS = [
    "CREATE UNIQUE INDEX rapport_contact_tag_pair ON rapport_contact_tag (contact, tag)",
    "CREATE INDEX rapport_contact_tag_by_tag ON rapport_contact_tag (tag, contact)",
    "CREATE UNIQUE INDEX rapport_role_permission_pair ON rapport_role_permission (role, permission)",
    "CREATE INDEX rapport_contact_email_contact ON rapport_contact_email (contact)",
    "CREATE INDEX rapport_contact_phone_contact ON rapport_contact_phone (contact)",
    "CREATE INDEX rapport_contact_company ON rapport_contact (company)",
    "CREATE INDEX rapport_contact_owner_list ON rapport_contact (owner, archived, name, id)",
    "CREATE INDEX rapport_contact_list ON rapport_contact (archived, name, id)",
    "CREATE INDEX rapport_contact_recent ON rapport_contact (archived, updated_at, id)",
    "CREATE INDEX rapport_activity_timeline ON rapport_activity (contact, occurred_at, id)",
    "CREATE INDEX rapport_activity_open_tasks ON rapport_activity (assignee, due_at)"
    " WHERE done_at IS NULL AND due_at IS NOT NULL",
    "CREATE INDEX rapport_activity_subject ON rapport_activity (subject_type, subject_id)",
    "CREATE INDEX rapport_delivery_retry_due ON rapport_delivery_retry"
    " (consumer, status, next_attempt_at)",
    "CREATE INDEX rapport_delivery_retry_key ON rapport_delivery_retry (consumer, key, event_id)",
    "CREATE INDEX rapport_job_due ON rapport_job (status, run_at)",
    "CREATE UNIQUE INDEX rapport_job_unique_pending ON rapport_job (unique_key)"
    " WHERE unique_key IS NOT NULL AND status IN ('queued', 'running')",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rapport", description=DESCRIPTION)

    async def create_indexes():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
