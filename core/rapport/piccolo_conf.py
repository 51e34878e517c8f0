"""Piccolo's configuration module, computed from the running Rapport instance.

``PICCOLO_CONF`` points here (set in ``rapport/__init__.py``), so ``DB`` is the engine the
process was started with and ``APP_REGISTRY`` holds the core app plus every installed
plugin's app.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "DB":
        from rapport.db.current import current_engine

        return current_engine()
    if name == "APP_REGISTRY":
        from rapport.db.migrate import app_registry

        return app_registry()
    raise AttributeError(name)
