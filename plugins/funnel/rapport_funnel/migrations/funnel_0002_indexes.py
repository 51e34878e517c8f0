"""Indexes the board and the reports use.

A migration of its own: Piccolo runs raw steps before the tables of the same migration exist.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T18:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "funnel: indexes"

INDEXES = [
    "CREATE INDEX funnel_stage_pipeline ON funnel_stage (pipeline_id, sort)",
    # The board: open deals of a pipeline by stage; filters by owner narrow it further.
    "CREATE INDEX funnel_deal_board ON funnel_deal (pipeline_id, status, stage_id)",
    "CREATE INDEX funnel_deal_owner ON funnel_deal (owner_id, status)",
    "CREATE INDEX funnel_deal_contact ON funnel_deal (contact_id)",
    "CREATE INDEX funnel_deal_company ON funnel_deal (company_id)",
    # Reports: deals created, closed, and the open pipeline by expected close month.
    "CREATE INDEX funnel_deal_created ON funnel_deal (created_at)",
    "CREATE INDEX funnel_deal_closed ON funnel_deal (status, closed_at)",
    "CREATE INDEX funnel_deal_forecast ON funnel_deal (status, expected_close_month)",
    "CREATE INDEX funnel_history_deal ON funnel_stage_history (deal_id, entered_at)",
    "CREATE INDEX funnel_history_stage ON funnel_stage_history (to_stage_id, deal_id)",
    "CREATE INDEX funnel_history_open ON funnel_stage_history (deal_id) WHERE left_at IS NULL",
    "CREATE INDEX funnel_line_item_deal ON funnel_line_item (deal_id)",
    "CREATE INDEX funnel_goal_owner ON funnel_goal (owner_id, period_start)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="funnel", description=DESCRIPTION)

    async def create_indexes():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        for statement in INDEXES:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
