"""Write transactions that carry the events they publish.

``async with transaction():`` opens one database transaction (``BEGIN IMMEDIATE`` on SQLite,
so a read-then-write never fails with "database is locked"; it runs inline in the event loop
on the loop's writer connection, see ``rapport.db.engine``). Events published inside are
written to the outbox in that same transaction and dispatched to in-process handlers only
after it commits; a rollback drops them with the change.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from piccolo.engine.sqlite import TransactionType

from rapport.db.current import current_engine

_pending: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "rapport_pending_events", default=None
)


def pending_events() -> list[Any] | None:
    """The after-commit list of the open transaction, or None outside one."""
    return _pending.get()


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    engine = current_engine()
    if engine.current_transaction.get() is not None:
        # Joining the outer transaction: it commits, and dispatches, for both.
        yield
        return
    pending: list[Any] = []
    token = _pending.set(pending)
    try:
        if engine.engine_type == "sqlite":
            tx = engine.transaction(transaction_type=TransactionType.immediate)  # type: ignore[call-arg]
        else:
            tx = engine.transaction()
        async with tx:
            yield
    finally:
        _pending.reset(token)
    if pending:
        from rapport.events.bus import dispatch

        await dispatch(pending)


def in_transaction() -> bool:
    return current_engine().current_transaction.get() is not None
