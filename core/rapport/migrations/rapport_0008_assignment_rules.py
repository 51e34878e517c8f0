"""Assignment rules, and the users' "away" flag the round robin skips."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Boolean, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "assignment rules"


def _params(**params):
    base = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    base.update(params)
    return base


COLUMNS = [
    ("position", Integer, _params(default=0, index=True)),
    ("name", Varchar, _params(length=150, default="")),
    ("kind", Varchar, _params(length=20, default="")),
    ("match_field", Varchar, _params(length=20, default="")),
    ("match_values", JSON, _params(default="[]")),
    ("user_ids", JSON, _params(default="[]")),
    ("target_user", Integer, _params(default=None, null=True)),
    ("counter", Integer, _params(default=0)),
    ("active", Boolean, _params(default=True)),
    ("created_at", Timestamptz, _params(default=TimestamptzNow())),
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
        params=_params(default=False),
        schema=None,
    )
    return manager
