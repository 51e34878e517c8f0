"""Create the hello plugin's tables.

Written by hand in the form ``piccolo migrations new --auto`` produces. Piccolo imports every
file of this folder by its bare module name, so the names carry the plugin's prefix to stay
unique among all installed plugins.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "hello: greetings and phrases"


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


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="hello", description=DESCRIPTION)

    manager.add_table(
        class_name="HelloGreeting", tablename="hello_greeting", schema=None, columns=None
    )
    manager.add_table(class_name="HelloPhrase", tablename="hello_phrase", schema=None, columns=None)

    manager.add_column(
        table_class_name="HelloGreeting",
        tablename="hello_greeting",
        column_name="contact_id",
        db_column_name="contact_id",
        column_class_name="Integer",
        column_class=Integer,
        params=_params(default=0, index=True),
        schema=None,
    )
    manager.add_column(
        table_class_name="HelloGreeting",
        tablename="hello_greeting",
        column_name="text",
        db_column_name="text",
        column_class_name="Text",
        column_class=Text,
        params=_params(default=""),
        schema=None,
    )
    manager.add_column(
        table_class_name="HelloGreeting",
        tablename="hello_greeting",
        column_name="created_at",
        db_column_name="created_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params=_params(default=TimestamptzNow()),
        schema=None,
    )
    manager.add_column(
        table_class_name="HelloPhrase",
        tablename="hello_phrase",
        column_name="text",
        db_column_name="text",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params(length=200, default="", unique=True),
        schema=None,
    )

    return manager
