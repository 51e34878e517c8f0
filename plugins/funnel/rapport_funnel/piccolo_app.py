"""The funnel's Piccolo app: its tables and migrations, after the core's."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from rapport_funnel.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="funnel",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=list(TABLES),
    migration_dependencies=["rapport.piccolo_app"],
    commands=[],
)
