"""Telling "the database cannot take this write now" apart from a bug.

An intake endpoint (a web form, a telephony webhook) must answer 503 with ``Retry-After``
when the database is locked or unreachable, so the caller retries, and must not answer 2xx
unless the write committed. These helpers let it do so on both engines.
"""

from __future__ import annotations

import sqlite3

from rapport.db.current import current_engine

_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o", "unable to open")
_POSTGRES_TRANSIENT = {
    "LockNotAvailableError",  # lock_timeout reached
    "QueryCanceledError",  # statement_timeout
    "DeadlockDetectedError",
    "SerializationError",
    "CannotConnectNowError",
    "TooManyConnectionsError",
    "ConnectionDoesNotExistError",
    "AdminShutdownError",
    "InterfaceError",
}


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database could not take the work right now (locked, busy,
    a lock wait timed out, the connection was lost), so the request may be retried."""
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc).lower()
        return any(word in message for word in _SQLITE_TRANSIENT)
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
        return True
    return any(cls.__name__ in _POSTGRES_TRANSIENT for cls in type(exc).__mro__)


async def limit_lock_wait(seconds: float) -> None:
    """Inside a write transaction: give up waiting for a lock after ``seconds``.

    PostgreSQL: ``SET LOCAL lock_timeout`` (ends with the transaction). SQLite takes its write
    lock when the transaction begins, waiting for it cooperatively up to the engine's
    ``busy_timeout`` (``rapport.db.engine``), so this is a no-op on SQLite.
    """
    engine = current_engine()
    if engine.engine_type == "postgres" and engine.current_transaction.get() is not None:
        # run_ddl uses the open transaction's connection; the value is a plain integer.
        await engine.run_ddl(f"SET LOCAL lock_timeout = {max(1, int(seconds * 1000))}")
