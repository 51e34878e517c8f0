"""Fixed SQL statements, prepared once, run on the caller's connection.

Piccolo builds every query anew: for a one-row insert on a hot path (the outbox, a web
form's accepted submission) building the statement costs several times running it. A
:class:`Statement` is written once with ``{}`` placeholders (the same as Piccolo's
``raw()``), turned into each engine's parameter style when first run, and then handed
straight to the connection:

* inside :func:`rapport.db.transaction.transaction`, on that transaction's connection (the
  inline SQLite writer, or PostgreSQL's asyncpg connection), so it is part of it;
* outside one, the way Piccolo runs a lone query: a plain ``SELECT`` on the kept reader, any
  other statement as its own write transaction (SQLite), or on a connection of the pool
  (PostgreSQL).

Every ``{}`` is a placeholder: a literal ``'{}'`` (an empty JSON object) is passed as a value.
Rows come back as dicts, as from Piccolo's ``raw()``. Values go in as the driver takes them:
``str`` for JSON columns, timezone-aware ``datetime`` for timestamps.
"""

from __future__ import annotations

from typing import Any

from piccolo.engine.postgres import PostgresEngine

from rapport.db.current import current_engine
from rapport.db.engine import InlineConnection, KeptSQLiteEngine


class Statement:
    """One SQL statement with ``{}`` placeholders, e.g.
    ``Statement("INSERT INTO t (a, b) VALUES ({}, {}) RETURNING id")``."""

    __slots__ = ("_count", "_postgres", "_sqlite", "sql")

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._count = sql.count("{}")
        self._sqlite: str | None = None
        self._postgres: str | None = None

    def for_sqlite(self) -> str:
        if self._sqlite is None:
            self._sqlite = self.sql.replace("{}", "?")
        return self._sqlite

    def for_postgres(self) -> str:
        if self._postgres is None:
            parts = self.sql.split("{}")
            self._postgres = parts[0] + "".join(
                f"${n}{part}" for n, part in enumerate(parts[1:], start=1)
            )
        return self._postgres

    async def fetch(self, *args: Any) -> list[dict[str, Any]]:
        """Run with ``args``; the rows it returns (``RETURNING`` rows for a write)."""
        if len(args) != self._count:
            raise TypeError(f"statement takes {self._count} values, {len(args)} given")
        engine = current_engine()
        transaction = engine.current_transaction.get()
        if isinstance(engine, KeptSQLiteEngine):
            sql = self.for_sqlite()
            connection = getattr(transaction, "connection", None)
            if isinstance(connection, InlineConnection):
                return connection.raw.execute(sql, args).fetchall()
            if transaction is not None:  # a deferred transaction on a pooled connection
                async with connection.execute(sql, args) as cursor:
                    return list(await cursor.fetchall())
            return await engine._run_in_new_connection(sql, list(args))
        if isinstance(engine, PostgresEngine):
            sql = self.for_postgres()
            if transaction is not None:
                records = await transaction.connection.fetch(sql, *args)
            elif engine.pool is not None:
                async with engine.pool.acquire() as pooled:
                    records = await pooled.fetch(sql, *args)
            else:
                single = await engine.get_new_connection()
                try:
                    records = await single.fetch(sql, *args)
                finally:
                    await single.close()
            return [dict(record) for record in records]
        raise RuntimeError(f"unsupported engine {type(engine).__name__}")

    async def fetch_one(self, *args: Any) -> dict[str, Any] | None:
        rows = await self.fetch(*args)
        return rows[0] if rows else None

    def __repr__(self) -> str:
        return f"Statement({self.sql!r})"
