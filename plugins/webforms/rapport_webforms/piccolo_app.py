"""The plugin's Piccolo app: forms and submissions, migrated after the core's tables."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from rapport_webforms.tables import Submission, WebForm

APP_CONFIG = AppConfig(
    app_name="webforms",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[WebForm, Submission],
    migration_dependencies=["rapport.piccolo_app"],
    commands=[],
)
