"""Engines for Rapport's two databases.

Piccolo's stock SQLite engine opens a new connection (and a thread) for every query outside a
transaction and re-runs ``PRAGMA foreign_keys`` before each statement; on this stack that is
the single largest cost of a page. :class:`KeptSQLiteEngine` keeps a small pool of open
connections instead, configured once: WAL, foreign keys, a busy timeout of seconds and
``synchronous=NORMAL`` (durable in WAL mode across application crashes).

Reads outside a transaction do not even take a pooled connection: a ``SELECT`` runs on a
plain ``sqlite3`` connection kept per thread, right in the event loop. Handing a 20 µs indexed
read to aiosqlite's worker thread and back costs several times the read itself (two thread
switches and a GIL hand-over per query; on a loaded 2-core machine 1-3 ms per query, most of
a page's time). In WAL mode a reader never waits for a writer, so an inline read cannot stall
the loop on a lock; a read is as long as its query, and the core's queries are indexed and
bounded (keyset pages, limited searches). Writes and every statement inside a transaction
keep going through aiosqlite, where waiting for SQLite's write lock blocks a thread, not the
loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import (
    SQLiteEngine,
    SQLiteTransaction,
    TransactionType,
    dict_factory,
)
from piccolo.table import Table

BUSY_TIMEOUT_MS = 10_000
POOL_SIZE = 4


class _PooledTransaction(SQLiteTransaction):
    """A transaction that borrows a kept connection and returns it instead of closing it."""

    async def get_connection(self) -> aiosqlite.Connection:
        assert isinstance(self.engine, KeptSQLiteEngine)
        return await self.engine.acquire()

    async def __aexit__(self, exception_type, exception, traceback) -> bool:  # type: ignore[override]
        if self._parent:
            return exception is None
        engine = self.engine
        assert isinstance(engine, KeptSQLiteEngine)
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            await engine.discard(self.connection)
            engine.current_transaction.reset(self.context)
            raise
        engine.release(self.connection)
        engine.current_transaction.reset(self.context)
        return exception is None


class KeptSQLiteEngine(SQLiteEngine):
    """SQLite engine with a pool of kept connections, one pool per event loop."""

    def __init__(self, path: str, pool_size: int = POOL_SIZE, **kwargs: Any) -> None:
        super().__init__(path=path, timeout=BUSY_TIMEOUT_MS / 1000, **kwargs)
        self.pool_size = pool_size
        self._idle: list[aiosqlite.Connection] = []
        self._open = 0
        self._available: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wal_checked = False
        self._readers = threading.local()
        self._all_readers: list[sqlite3.Connection] = []

    def _reader(self) -> sqlite3.Connection:
        """This thread's kept connection for reads outside a transaction."""
        reader = getattr(self._readers, "connection", None)
        if reader is None:
            reader = sqlite3.connect(**self.connection_kwargs, check_same_thread=False)
            reader.row_factory = dict_factory
            reader.execute("PRAGMA foreign_keys = 1")
            reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            reader.execute("PRAGMA query_only = 1")  # a guard: this connection never writes
            self._readers.connection = reader
            self._all_readers.append(reader)
        return reader

    async def _connect(self) -> aiosqlite.Connection:
        pending = aiosqlite.connect(**self.connection_kwargs)
        # Worker threads of kept connections must not keep the interpreter alive at exit.
        pending._thread.daemon = True
        connection = await pending
        connection.row_factory = dict_factory  # type: ignore[assignment]
        if not self._wal_checked:
            await connection.execute("PRAGMA journal_mode=WAL")
            self._wal_checked = True
        await connection.execute("PRAGMA foreign_keys = 1")
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    def _bind_loop(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._available is None:
            # Connections opened under another loop (a previous test, a CLI run) are dropped.
            for connection in self._idle:
                _close_quietly(connection)
            self._idle = []
            self._open = 0
            self._loop = loop
            self._available = asyncio.Condition()
        return self._available

    async def acquire(self) -> aiosqlite.Connection:
        available = self._bind_loop()
        async with available:
            while not self._idle and self._open >= self.pool_size:
                await available.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return await self._connect()
        except BaseException:
            self._open -= 1
            raise

    def release(self, connection: aiosqlite.Connection) -> None:
        available = self._bind_loop()
        self._idle.append(connection)
        asyncio.get_running_loop().create_task(_notify(available))

    async def discard(self, connection: aiosqlite.Connection) -> None:
        self._open -= 1
        try:
            await connection.close()
        except Exception:  # noqa: BLE001 - the connection is gone either way
            pass

    async def close_pool(self) -> None:
        """Close every idle connection; called at shutdown and between tests."""
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await connection.close()
            except Exception:  # noqa: BLE001
                pass
        self._open = 0
        self._available = None
        self._loop = None
        readers, self._all_readers = self._all_readers, []
        self._readers = threading.local()
        for reader in readers:
            reader.close()

    async def get_connection(self) -> aiosqlite.Connection:  # used by Piccolo's batch()
        return await self._connect()

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if _is_read(query):
            return self._reader().execute(query, args or []).fetchall()
        connection = await self.acquire()
        try:
            async with connection.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
        except sqlite3.OperationalError:
            self.release(connection)
            raise
        except BaseException:
            await self.discard(connection)
            raise
        self.release(connection)
        return rows

    async def _run_in_existing_connection(
        self, connection, query, args=None, query_type="generic", table=None
    ):
        # The kept connection has foreign keys on already; Piccolo's stock engine re-sets it
        # before every statement.
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _PooledTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


def _is_read(query: str) -> bool:
    """A plain ``SELECT`` (what Piccolo's select, count, exists and the core's raw reads
    send); anything else, ``WITH`` included, takes the pooled path."""
    return query.lstrip()[:6].upper() == "SELECT"


async def _notify(condition: asyncio.Condition) -> None:
    async with condition:
        condition.notify()


def _close_quietly(connection: aiosqlite.Connection) -> None:
    try:
        connection.stop()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        pass


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative.db`` and ``sqlite:////abs/path.db`` → a path."""
    parsed = urlparse(url)
    raw = parsed.path
    if url.startswith("sqlite:////"):
        return Path(raw)
    return (
        Path(raw.lstrip("/"))
        if not url.startswith("sqlite:///")
        else Path(url[len("sqlite:///") :])
    )


def create_engine(database_url: str) -> Engine:
    """Build the engine a ``DATABASE_URL`` names: ``sqlite:///…`` or ``postgres(ql)://…``."""
    if database_url.startswith("sqlite:"):
        path = sqlite_path(database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return KeptSQLiteEngine(path=str(path))
    parsed = urlparse(database_url)
    if parsed.scheme in {"postgres", "postgresql", "postgresql+asyncpg"}:
        config = {
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432,
            "user": parsed.username or "postgres",
            "password": parsed.password or None,
            "database": parsed.path.lstrip("/") or "rapport",
        }
        return PostgresEngine(config={k: v for k, v in config.items() if v is not None})
    raise ValueError(
        f"DATABASE_URL: unsupported scheme {parsed.scheme!r} (use sqlite or postgresql)"
    )


def all_tables() -> Iterator[type[Table]]:
    """Every Table class defined so far (core, plugins and Piccolo's own migration table)."""
    seen: set[type[Table]] = set()
    stack = list(Table.__subclasses__())
    while stack:
        table = stack.pop()
        if table in seen:
            continue
        seen.add(table)
        stack.extend(table.__subclasses__())
        yield table


def bind_tables(engine: Engine) -> None:
    """Point every Table class at ``engine`` (Piccolo binds a table to one engine for good)."""
    for table in all_tables():
        table._meta.db = engine


async def start_engine(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=10)


async def stop_engine(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, KeptSQLiteEngine):
        await engine.close_pool()
