"""API tokens, stored idempotent answers and rate-limit windows.

The tables are frozen copies of ``rapport.rest.tables`` as they were when this migration was
written, created with Piccolo's own DDL for the engine in use, in one raw step together with
the unique indexes (raw steps run before added columns, so the indexes could not follow
``add_column`` steps in the same migration).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import JSON, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

ID = "2026-12-01T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api tokens"


class User(Table, tablename="rapport_user"):
    id = Serial(primary_key=True)


class ApiToken(Table, tablename="rapport_api_token"):
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=16)
    scopes = JSON(default="[]")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class ApiIdempotentRequest(Table, tablename="rapport_api_idempotency"):
    token = ForeignKey(ApiToken, on_delete=OnDelete.cascade)
    key = Varchar(length=255)
    request_hash = Varchar(length=64)
    status = Integer(default=0)
    content_type = Varchar(length=100, default="")
    location = Varchar(length=500, default="")
    body = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(default=TimestamptzNow(), index=True)


class ApiRateWindow(Table, tablename="rapport_api_rate"):
    token_id = Integer()
    window_start = Integer()
    hits = Integer(default=0)


INDEXES = [
    "CREATE UNIQUE INDEX rapport_api_idempotency_key ON rapport_api_idempotency (token, key)",
    "CREATE UNIQUE INDEX rapport_api_rate_window ON rapport_api_rate (token_id, window_start)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rapport", description=DESCRIPTION)

    async def create_tables():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for table in (ApiToken, ApiIdempotentRequest, ApiRateWindow):
            await table.create_table()
        for statement in INDEXES:
            await engine.run_ddl(statement)

    manager.add_raw(create_tables)
    return manager
