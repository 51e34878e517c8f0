"""Create the funnel's tables (their indexes follow in ``funnel_0002_indexes``).

Written by hand in the form Piccolo's auto migrations take; the column list is frozen here
rather than read from ``tables.py``, so later changes to the tables need a new migration.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "funnel: pipelines, stages, deals, history, products, goals"


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


def _varchar(length, **kw):
    return Varchar, _params(length=length, default="", **kw)


def _int(**kw):
    return Integer, _params(default=0, **kw)


def _int_null():
    return Integer, _params(default=None, null=True)


def _big(**kw):
    return BigInt, _params(default=0, **kw)


def _bool(default):
    return Boolean, _params(default=default)


def _now():
    return Timestamptz, _params(default=TimestamptzNow())


def _ts_null():
    return Timestamptz, _params(default=None, null=True)


TABLES = {
    ("FunnelPipeline", "funnel_pipeline"): {
        "name": _varchar(120, unique=True),
        "sort": _int(),
        "is_default": _bool(False),
        "archived": _bool(False),
        "created_at": _now(),
    },
    ("FunnelStage", "funnel_stage"): {
        "pipeline_id": _int(),
        "name": _varchar(120),
        "sort": _int(),
        "colour": (Varchar, _params(length=7, default="#6b7280")),
        "probability": _int(),
        "semantic": (Varchar, _params(length=12, default="in_progress")),
        "idle_days": _int_null(),
        "followup_days": _int_null(),
        "archived": _bool(False),
    },
    ("FunnelLostReason", "funnel_lost_reason"): {
        "name": _varchar(120, unique=True),
        "sort": _int(),
        "active": _bool(True),
    },
    ("FunnelProduct", "funnel_product"): {
        "name": _varchar(200),
        "sku": _varchar(60),
        "price_minor": _big(),
        "currency": _varchar(3),
        "active": _bool(True),
    },
    ("FunnelDeal", "funnel_deal"): {
        "title": _varchar(200),
        "contact_id": _int_null(),
        "company_id": _int_null(),
        "owner_id": _int_null(),
        "pipeline_id": _int(),
        "stage_id": _int(),
        "status": (Varchar, _params(length=8, default="open")),
        "amount_minor": _big(),
        "currency": _varchar(3),
        "expected_close": (Date, _params(default=None, null=True)),
        "expected_close_month": _varchar(7),
        "source": _varchar(120),
        "utm_source": _varchar(200),
        "utm_medium": _varchar(200),
        "utm_campaign": _varchar(200),
        "utm_term": _varchar(200),
        "utm_content": _varchar(200),
        "lost_reason_id": _int_null(),
        "lost_comment": (Text, _params(default="")),
        "stage_entered_at": _now(),
        "closed_at": _ts_null(),
        "created_by": _int_null(),
        "created_at": _now(),
        "updated_at": _now(),
    },
    ("FunnelLineItem", "funnel_line_item"): {
        "deal_id": _int(),
        "product_id": _int_null(),
        "name": _varchar(200),
        "quantity": _int(),
        "price_minor": _big(),
    },
    ("FunnelStageHistory", "funnel_stage_history"): {
        "deal_id": _int(),
        "pipeline_id": _int(),
        "from_stage_id": _int_null(),
        "to_stage_id": _int(),
        "entered_at": _now(),
        "left_at": _ts_null(),
        "seconds_in_stage": (BigInt, _params(default=None, null=True)),
        "by_user_id": _int_null(),
    },
    ("FunnelLeadIntake", "funnel_lead_intake"): {
        "event_id": _big(unique=True),
        "deal_id": _int(),
        "created_at": _now(),
    },
    ("FunnelGoal", "funnel_goal"): {
        "owner_id": _int(),
        "period_start": _now(),
        "period_end": _now(),
        "target_minor": _big(),
        "currency": _varchar(3),
    },
}



async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="funnel", description=DESCRIPTION)
    for (class_name, tablename), columns in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for column_name, (column_class, params) in columns.items():
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=column_name,
                db_column_name=column_name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )

    return manager
