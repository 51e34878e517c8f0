"""The funnel's tables. Their schema is created by ``rapport_funnel/migrations``.

Core records (contacts, users) are referred to by id in plain indexed integer columns; the
plugin moves its rows itself when contacts merge. Money is kept in minor units (kopecks,
cents) as integers, so sums are exact on SQLite and PostgreSQL alike.
"""

from piccolo.columns import BigInt, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

IN_PROGRESS = "in_progress"
WON = "won"
LOST = "lost"
SEMANTICS = (IN_PROGRESS, WON, LOST)
# Won and Lost always close a pipeline: their sort keys stay above every working stage.
WON_SORT = 9998
LOST_SORT = 9999


class FunnelPipeline(Table, tablename="funnel_pipeline"):
    name = Varchar(length=120, unique=True)
    sort = Integer(default=0)
    is_default = Boolean(default=False)
    archived = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class FunnelStage(Table, tablename="funnel_stage"):
    """One column of a pipeline. ``semantic`` says whether a deal here is open, won or lost."""

    pipeline_id = Integer()
    name = Varchar(length=120)
    sort = Integer(default=0)
    colour = Varchar(length=7, default="#6b7280")
    probability = Integer(default=0)  # percent, 0–100
    semantic = Varchar(length=12, default=IN_PROGRESS)
    idle_days = Integer(null=True, default=None)  # a deal idle longer is "rotting"
    followup_days = Integer(null=True, default=None)  # entering creates a task due in N days
    archived = Boolean(default=False)


class FunnelLostReason(Table, tablename="funnel_lost_reason"):
    name = Varchar(length=120, unique=True)
    sort = Integer(default=0)
    active = Boolean(default=True)


class FunnelProduct(Table, tablename="funnel_product"):
    name = Varchar(length=200)
    sku = Varchar(length=60, default="")
    price_minor = BigInt(default=0)
    currency = Varchar(length=3, default="")
    active = Boolean(default=True)


class FunnelDeal(Table, tablename="funnel_deal"):
    title = Varchar(length=200)
    contact_id = Integer(null=True, default=None)
    company_id = Integer(null=True, default=None)
    owner_id = Integer(null=True, default=None)
    pipeline_id = Integer()
    stage_id = Integer()
    status = Varchar(length=8, default="open")  # open / won / lost, follows the stage
    amount_minor = BigInt(default=0)
    currency = Varchar(length=3, default="")
    expected_close = Date(null=True, default=None)
    expected_close_month = Varchar(length=7, default="")  # "YYYY-MM", for the forecast
    source = Varchar(length=120, default="")
    utm_source = Varchar(length=200, default="")
    utm_medium = Varchar(length=200, default="")
    utm_campaign = Varchar(length=200, default="")
    utm_term = Varchar(length=200, default="")
    utm_content = Varchar(length=200, default="")
    lost_reason_id = Integer(null=True, default=None)
    lost_comment = Text(default="")
    stage_entered_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class FunnelLineItem(Table, tablename="funnel_line_item"):
    deal_id = Integer()
    product_id = Integer(null=True, default=None)
    name = Varchar(length=200)
    quantity = Integer(default=1)
    price_minor = BigInt(default=0)


class FunnelStageHistory(Table, tablename="funnel_stage_history"):
    """One stay of a deal in a stage: entered (from ``from_stage_id``), left, how long.

    A deal moved backwards or re-opened gets a new row each time; reports count distinct deals
    per stage, so a second visit never counts twice.
    """

    deal_id = Integer()
    pipeline_id = Integer()
    from_stage_id = Integer(null=True, default=None)  # None: the deal was created here
    to_stage_id = Integer()
    entered_at = Timestamptz(default=TimestamptzNow())
    left_at = Timestamptz(null=True, default=None)
    seconds_in_stage = BigInt(null=True, default=None)
    by_user_id = Integer(null=True, default=None)


class FunnelDealStage(Table, tablename="funnel_deal_stage"):
    """The reports' summary of the stage history: one row per deal and stage it entered.

    Kept by ``rapport_funnel.stage_summary`` in the transaction of every change to a deal's
    history, owner or source, so the cohort reports aggregate these rows (one per deal and
    stage, already distinct) instead of grouping the raw history. The deal's pipeline, owner,
    source and creation time are copied here so the reports filter without a join.
    """

    deal_id = Integer()
    stage_id = Integer()
    pipeline_id = Integer()  # the deal's
    owner_id = Integer(null=True, default=None)  # the deal's, now
    source = Varchar(length=120, default="")  # the deal's, now
    created_at = Timestamptz(default=TimestamptzNow())  # the deal's: the report's cohort
    created_day = Varchar(length=10, default="")  # of created_at, UTC: 'YYYY-MM-DD'
    first_entered_at = Timestamptz(default=TimestamptzNow())
    visits = Integer(default=0)  # history rows into the stage (stays)
    stays_done = Integer(default=0)  # of those, the finished ones
    seconds = BigInt(default=0)  # time the finished stays took
    moved_on = Integer(default=0)  # 1: went from here to a later stage other than Lost
    furthest = Integer(default=0)  # 1: the deal's furthest working stage, or Won while won


class FunnelStageDaily(Table, tablename="funnel_stage_daily"):
    """``funnel_deal_stage`` added up per pipeline, stage, creation day (UTC) and source:
    what a report over whole days without an owner filter reads."""

    pipeline_id = Integer()
    stage_id = Integer()
    created_day = Varchar(length=10, default="")
    source = Varchar(length=120, default="")
    entered = Integer(default=0)
    moved_on = Integer(default=0)
    furthest = Integer(default=0)
    stayed = Integer(default=0)
    seconds = BigInt(default=0)


class FunnelLeadIntake(Table, tablename="funnel_lead_intake"):
    """The outbox id of every ``lead.received`` turned into a deal: a redelivery finds it."""

    event_id = BigInt(unique=True)
    deal_id = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


class FunnelGoal(Table, tablename="funnel_goal"):
    """A sales target: won revenue an owner should reach in ``[period_start, period_end)``
    (midnights UTC; the form's last day is stored as the next midnight)."""

    owner_id = Integer()
    period_start = Timestamptz()
    period_end = Timestamptz()
    target_minor = BigInt(default=0)
    currency = Varchar(length=3, default="")


TABLES = [
    FunnelPipeline,
    FunnelStage,
    FunnelLostReason,
    FunnelProduct,
    FunnelDeal,
    FunnelLineItem,
    FunnelStageHistory,
    FunnelLeadIntake,
    FunnelGoal,
    FunnelDealStage,
    FunnelStageDaily,
]
