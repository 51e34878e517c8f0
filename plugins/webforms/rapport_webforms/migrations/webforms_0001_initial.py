"""Create the web forms plugin's tables: forms and submissions."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webforms: forms and submissions"


def _params(**overrides):
    params = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(overrides)
    return params


FORM_COLUMNS = [
    ("key", Varchar, _params(length=32, default="", unique=True)),
    ("title", Varchar, _params(length=200, default="")),
    ("language", Varchar, _params(length=8, default="en")),
    ("fields", JSON, _params(default="[]")),
    ("thank_you", Text, _params(default="")),
    ("redirect_url", Varchar, _params(length=500, default="")),
    ("tags", JSON, _params(default="[]")),
    ("source", Varchar, _params(length=100, default="")),
    ("rule_id", Integer, _params(default=None, null=True)),
    ("pipeline", Varchar, _params(length=100, default="")),
    ("stage", Varchar, _params(length=100, default="")),
    ("allowed_origins", JSON, _params(default="[]")),
    ("min_fill_seconds", Integer, _params(default=3)),
    ("accept_untimed", Boolean, _params(default=False)),
    ("hook_mode", Varchar, _params(length=16, default="off")),
    ("hook_secret", Varchar, _params(length=200, default="")),
    ("hook_header", Varchar, _params(length=100, default="Typeform-Signature")),
    ("hook_mapping", JSON, _params(default="{}")),
    ("active", Boolean, _params(default=True)),
    ("created_at", Timestamptz, _params(default=TimestamptzNow())),
]

SUBMISSION_COLUMNS = [
    ("form_id", Integer, _params(default=0, index=True)),
    ("received_at", Timestamptz, _params(default=TimestamptzNow(), index=True)),
    ("channel", Varchar, _params(length=16, default="html")),
    ("status", Varchar, _params(length=16, default="created", index=True)),
    ("spam_reason", Varchar, _params(length=40, default="")),
    ("raw", JSON, _params(default="{}")),
    ("mapped", JSON, _params(default="{}")),
    ("context", JSON, _params(default="{}")),
    ("differences", JSON, _params(default="{}")),
    ("contact_id", Integer, _params(default=None, null=True, index=True)),
    ("assigned_to", Integer, _params(default=None, null=True)),
    ("ip", Varchar, _params(length=64, default="")),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="webforms", description=DESCRIPTION)
    for class_name, tablename, columns in [
        ("WebForm", "webforms_form", FORM_COLUMNS),
        ("Submission", "webforms_submission", SUBMISSION_COLUMNS),
    ]:
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )

    return manager
