"""The plugin's Piccolo app: its tables and its migrations folder.

``rapport migrate`` runs these migrations together with the core's; the dependency on
``rapport.piccolo_app`` makes the core's tables exist first.
"""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from rapport_hello.tables import HelloGreeting, HelloPhrase

APP_CONFIG = AppConfig(
    app_name="hello",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[HelloGreeting, HelloPhrase],
    migration_dependencies=["rapport.piccolo_app"],
    commands=[],
)
