"""The engine this process uses, set once at start-up (or per test)."""

from __future__ import annotations

from piccolo.engine.base import Engine

from rapport.db.engine import bind_tables

_engine: Engine | None = None


def use_engine(engine: Engine) -> None:
    """Make ``engine`` the process's database and bind every known table to it."""
    global _engine
    _engine = engine
    bind_tables(engine)


def current_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("no database configured: call rapport.bootstrap first")
    return _engine


def is_sqlite() -> bool:
    return current_engine().engine_type == "sqlite"
