"""The reports' summary of the stage history: ``funnel_deal_stage`` (one row per deal and
stage it entered) and ``funnel_stage_daily`` (their sums per pipeline, stage, creation day and
source), their indexes and their rows; see ``rapport_funnel.stage_summary``. Also two
covering indexes on deals for the reports that count closed deals and deals per owner.

The tables are created from classes frozen here, in a raw step (Piccolo runs raw steps before
the tables of the same migration, and the backfill needs the tables), then filled from the
existing history by two set-based ``INSERT … SELECT`` statements — the ones the plugin uses —
on SQLite and PostgreSQL alike, before their indexes are built.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

ID = "2026-12-01T18:00:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "funnel: stage summary for the reports"

# A statement frozen here rather than imported, so later changes to the plugin's statement
# need a migration of their own.
DAY_SQL = {
    "sqlite": "substr(d.created_at, 1, 10)",
    "postgres": "to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}

BACKFILL = (
    "INSERT INTO funnel_deal_stage (deal_id, stage_id, pipeline_id, owner_id, source,"
    " created_at, created_day, first_entered_at, visits, stays_done, seconds, moved_on,"
    " furthest)"
    " SELECT h.deal_id, h.to_stage_id, d.pipeline_id, d.owner_id, d.source, d.created_at,"
    " DAY_SQL, MIN(h.entered_at), COUNT(*),"
    " SUM(CASE WHEN h.left_at IS NOT NULL THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN h.left_at IS NOT NULL THEN COALESCE(h.seconds_in_stage, 0) ELSE 0 END),"
    " CASE WHEN EXISTS (SELECT 1 FROM funnel_stage_history m"
    " JOIN funnel_stage sf ON sf.id = m.from_stage_id"
    " JOIN funnel_stage st ON st.id = m.to_stage_id"
    " WHERE m.deal_id = h.deal_id AND m.from_stage_id = h.to_stage_id"
    " AND st.sort > sf.sort AND st.semantic <> 'lost') THEN 1 ELSE 0 END,"
    " CASE WHEN d.status = 'won' THEN"
    " (CASE WHEN h.to_stage_id = d.stage_id THEN 1 ELSE 0 END)"
    " WHEN s.semantic = 'in_progress' AND s.id = (SELECT s2.id FROM funnel_stage_history h2"
    " JOIN funnel_stage s2 ON s2.id = h2.to_stage_id"
    " WHERE h2.deal_id = h.deal_id AND s2.semantic = 'in_progress'"
    " ORDER BY s2.sort DESC, s2.id LIMIT 1) THEN 1 ELSE 0 END"
    " FROM funnel_stage_history h JOIN funnel_deal d ON d.id = h.deal_id"
    " JOIN funnel_stage s ON s.id = h.to_stage_id"
    " GROUP BY h.deal_id, h.to_stage_id, d.pipeline_id, d.owner_id, d.source, d.created_at,"
    " d.status, d.stage_id, s.id, s.semantic"
)

DAILY_BACKFILL = (
    "INSERT INTO funnel_stage_daily (pipeline_id, stage_id, created_day, source, entered,"
    " moved_on, furthest, stayed, seconds)"
    " SELECT pipeline_id, stage_id, created_day, source, COUNT(*), SUM(moved_on),"
    " SUM(furthest), SUM(CASE WHEN stays_done > 0 THEN 1 ELSE 0 END), SUM(seconds)"
    " FROM funnel_deal_stage GROUP BY pipeline_id, stage_id, created_day, source"
)

INDEXES = [
    # One deal's rows, for the refresh after each change; one row per deal and stage.
    "CREATE UNIQUE INDEX funnel_deal_stage_deal ON funnel_deal_stage (deal_id, stage_id)",
    # One owner's cohort (the reports' owner filter), per stage.
    "CREATE INDEX funnel_deal_stage_owner ON funnel_deal_stage"
    " (pipeline_id, owner_id, stage_id, created_at)",
    # Any other cohort (a period not in whole days): per stage, the creation-time range,
    # with every column the reports filter on or add up, read from the index alone.
    "CREATE INDEX funnel_deal_stage_cohort ON funnel_deal_stage"
    " (pipeline_id, stage_id, created_at, owner_id, source, stays_done, seconds, moved_on,"
    " furthest)",
    # The daily sums: the upsert's key, and the reports' range of days per stage.
    "CREATE UNIQUE INDEX funnel_stage_daily_key ON funnel_stage_daily"
    " (pipeline_id, stage_id, created_day, source)",
    # The reports' source filter: the sources of a pipeline, from the index alone.
    "CREATE INDEX funnel_stage_daily_sources ON funnel_stage_daily"
    " (pipeline_id, source, entered)",
    # The reports on closed deals (lost reasons, attribution, per rep): deals closed in the
    # period with what they filter, group and add up, so they are read from the index alone.
    "CREATE INDEX funnel_deal_closed_sums ON funnel_deal (status, closed_at, pipeline_id,"
    " owner_id, source, currency, amount_minor, lost_reason_id, utm_campaign)",
    # Per rep: deals created in the period by owner, from the index alone.
    "CREATE INDEX funnel_deal_cohort_owner ON funnel_deal"
    " (pipeline_id, created_at, owner_id, source)",
]


class _DealStage(Table, tablename="funnel_deal_stage"):
    deal_id = Integer()
    stage_id = Integer()
    pipeline_id = Integer()
    owner_id = Integer(null=True, default=None)
    source = Varchar(length=120, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    created_day = Varchar(length=10, default="")
    first_entered_at = Timestamptz(default=TimestamptzNow())
    visits = Integer(default=0)
    stays_done = Integer(default=0)
    seconds = BigInt(default=0)
    moved_on = Integer(default=0)
    furthest = Integer(default=0)


class _StageDaily(Table, tablename="funnel_stage_daily"):
    pipeline_id = Integer()
    stage_id = Integer()
    created_day = Varchar(length=10, default="")
    source = Varchar(length=120, default="")
    entered = Integer(default=0)
    moved_on = Integer(default=0)
    furthest = Integer(default=0)
    stayed = Integer(default=0)
    seconds = BigInt(default=0)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="funnel", description=DESCRIPTION)

    async def create_and_fill():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        day = DAY_SQL["sqlite" if engine.engine_type == "sqlite" else "postgres"]
        await _DealStage.create_table().run()
        await _StageDaily.create_table().run()
        # Filled before the indexes are built: one sort per index instead of 450,000 inserts
        # into each.
        await engine.run_ddl(BACKFILL.replace("DAY_SQL", day))
        await engine.run_ddl(DAILY_BACKFILL)
        for statement in INDEXES:
            await engine.run_ddl(statement)

    manager.add_raw(create_and_fill)
    return manager
