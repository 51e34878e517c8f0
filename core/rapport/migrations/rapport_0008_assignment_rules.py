"""Assignment rules, and the users' "away" flag the round robin skips."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Boolean, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from rapport.migrations import column_params

ID = "2026-12-01T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "assignment rules"


COLUMNS = [
    ("position", Integer, column_params(default=0, index=True)),
    ("name", Varchar, column_params(length=150, default="")),
    ("kind", Varchar, column_params(length=20, default="")),
    ("match_field", Varchar, column_params(length=20, default="")),
    ("match_values", JSON, column_params(default="[]")),
    ("user_ids", JSON, column_params(default="[]")),
    ("target_user", Integer, column_params(default=None, null=True)),
    ("counter", Integer, column_params(default=0)),
    ("active", Boolean, column_params(default=True)),
    ("created_at", Timestamptz, column_params(default=TimestamptzNow())),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rapport", description=DESCRIPTION)
    manager.add_table(
        class_name="AssignmentRule", tablename="rapport_assignment_rule", schema=None, columns=None
    )
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="AssignmentRule",
            tablename="rapport_assignment_rule",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    manager.add_column(
        table_class_name="User",
        tablename="rapport_user",
        column_name="away",
        db_column_name="away",
        column_class_name="Boolean",
        column_class=Boolean,
        params=column_params(default=False),
        schema=None,
    )
    return manager
