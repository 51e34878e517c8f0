"""Engines for Rapport's two databases.

Piccolo's stock SQLite engine opens a new connection (and a thread) for every query outside a
transaction and re-runs ``PRAGMA foreign_keys`` before each statement; on this stack that is
the single largest cost of a page. :class:`KeptSQLiteEngine` keeps its connections open
instead, configured once: WAL, foreign keys and ``synchronous=NORMAL`` (in WAL mode a
committed transaction survives a crash of the process, ``kill -9`` included).

Handing a 20 µs statement to aiosqlite's worker thread and back costs several times the
statement itself (two thread switches and a GIL hand-over; on a loaded 2-core machine
1-3 ms each), so the SQLite engine runs its statements **inline, in the event loop**, on
plain ``sqlite3`` connections:

* **Reads outside a transaction** (a plain ``SELECT``) run on a connection kept per thread,
  with ``query_only`` on as a guard. In WAL mode a reader never waits for a writer, so an
  inline read cannot stall the loop on a lock.
* **Write transactions** (``BEGIN IMMEDIATE`` or ``EXCLUSIVE``: what
  :func:`rapport.db.transaction.transaction` opens) and **single writes outside a
  transaction** (any statement that is not a plain ``SELECT``) run on one writer connection
  per event loop. A writer must never block the loop waiting for SQLite's write lock, so:

  - within the process (the loop), writers take an ``asyncio.Lock`` first: a coroutine that
    holds a transaction may await other things, and a second writer waits for the lock
    cooperatively instead of in SQLite's busy handler (which would freeze the loop, and with
    it the first writer: a deadlock until the timeout);
  - across processes (``rapport serve --workers 2`` and the background worker share the
    file) the writer connection has a busy timeout of 0: ``BEGIN IMMEDIATE`` answers
    ``SQLITE_BUSY`` at once while another process writes, and is retried after an
    ``asyncio.sleep`` with back-off (1 ms doubling to 5 ms: a try costs microseconds, and a
    longer sleep let a busy background worker take the lock again and again before a
    waiting request looked);
  - the whole wait, for the lock and for ``BEGIN``, is bounded by :attr:`busy_timeout`
    (10 s, what the busy handler waited before); past it the writer gets
    ``sqlite3.OperationalError("database is locked")``, the same error as before, which
    :func:`rapport.db.errors.database_unavailable` maps to a 503 with ``Retry-After``.

  Once ``BEGIN IMMEDIATE`` succeeded the transaction holds the write lock, so its statements
  never wait on a lock. A single write outside a transaction is wrapped the same way
  (lock, ``BEGIN IMMEDIATE``, the statement, ``COMMIT``); statements that SQLite refuses
  inside a transaction (``PRAGMA``, ``VACUUM``) run in autocommit mode and are retried whole
  on ``SQLITE_BUSY``. A failed statement or an exception in the block rolls back; if even
  the rollback fails the connection is closed and a new one opened for the next writer.

  The price: a statement blocks the loop for as long as it runs. The core's writes are
  bounded (a handful of rows per statement), so that is a few tens of microseconds.

* **Deferred transactions** (Piccolo's default for ``engine.transaction()`` and
  ``engine.atomic()``, which its migration manager uses) keep going through a small pool of
  aiosqlite connections on threads, as does Piccolo's ``batch()``: a deferred transaction
  may be a long read or a migration building an index over millions of rows, which must not
  hold the loop. A deferred transaction that writes competes for SQLite's write lock like
  another process would (its thread waits in the busy handler; an inline writer retries).

Connections belong to a loop and its thread: tests open many event loops, so writer
connections are kept per loop (those of closed loops are closed when the next is bound), and
:meth:`KeptSQLiteEngine.close_pool` closes everything at shutdown.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
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
# Back-off between two tries of ``BEGIN IMMEDIATE`` while another process writes.
FIRST_RETRY_S = 0.001
LONGEST_RETRY_S = 0.005  # was 50 ms: see the module docstring
_SQLITE_BUSY = 5  # primary result code; extended codes (BUSY_RECOVERY...) share the low byte
# SQLite refuses these inside a transaction: run alone, in autocommit mode.
_AUTOCOMMIT_ONLY = ("PRAGMA", "VACUUM")

T = TypeVar("T")


class InlineConnection:
    """A plain ``sqlite3`` connection used in the event loop, with aiosqlite's awaitable
    ``execute`` so that Piccolo's savepoints (``await transaction.connection.execute(...)``)
    work on it unchanged."""

    __slots__ = ("raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    async def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        return self.raw.execute(sql, parameters)


class _Writer:
    """One event loop's writer: its lock and its connection (opened on first use)."""

    __slots__ = ("connection", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.connection: sqlite3.Connection | None = None

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - the connection is gone either way
                pass


class _InlineTransaction(SQLiteTransaction):
    """A write transaction on the loop's writer connection, run inline (see the module)."""

    __slots__ = ("_writer",)

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        engine = self.engine
        assert isinstance(engine, KeptSQLiteEngine)
        writer, deadline = await engine._lock_writer()
        try:
            raw = await engine._writer_connection(writer, deadline)
            begin = (
                "BEGIN EXCLUSIVE"
                if self.transaction_type is TransactionType.exclusive
                else "BEGIN IMMEDIATE"
            )
            await engine._retry_busy(lambda: raw.execute(begin), deadline)
        except BaseException:
            writer.lock.release()
            raise
        self._writer = writer
        self.connection = InlineConnection(raw)
        self.context = engine.current_transaction.set(self)
        return self

    async def begin(self) -> None:
        # Piccolo's own begin() would send BEGIN without the write lock and its retries.
        raise RuntimeError("an inline write transaction begins in __aenter__")

    async def commit(self) -> None:
        self.connection.raw.execute("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        # SQLite ends the transaction itself on some errors (a full disk...): rolling back
        # again would raise and hide the error that caused it.
        if self.connection.raw.in_transaction:
            self.connection.raw.execute("ROLLBACK")
        self._rolled_back = True

    async def __aexit__(self, exception_type, exception, traceback) -> bool:  # type: ignore[override]
        if self._parent:
            return exception is None
        writer = self._writer
        raw = self.connection.raw
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            _abandon(writer, raw)
            raise
        finally:
            if writer.connection is raw and raw.in_transaction:
                # A manual commit or rollback followed by more statements: never leave a
                # transaction open on the connection the next writer takes.
                _abandon(writer, raw)
            self.engine.current_transaction.reset(self.context)
            writer.lock.release()
        return exception is None


def _abandon(writer: _Writer, raw: sqlite3.Connection) -> None:
    """Leave ``raw`` clean: roll back what is open, or drop the connection if that fails."""
    try:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        return
    except Exception:  # noqa: BLE001 - the connection is replaced below
        pass
    if writer.connection is raw:
        writer.close()


class _PooledTransaction(SQLiteTransaction):
    """A deferred transaction on a kept aiosqlite connection, returned to the pool after."""

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
    """SQLite engine with kept connections: inline readers per thread, an inline writer per
    event loop, and a pool of aiosqlite connections per loop for deferred transactions."""

    def __init__(self, path: str, pool_size: int = POOL_SIZE, **kwargs: Any) -> None:
        super().__init__(path=path, timeout=BUSY_TIMEOUT_MS / 1000, **kwargs)
        self.pool_size = pool_size
        #: How long a writer waits, in seconds, for the write lock (in-process and SQLite's)
        #: before it gets "database is locked".
        self.busy_timeout = BUSY_TIMEOUT_MS / 1000
        self._idle: list[aiosqlite.Connection] = []
        self._open = 0
        self._available: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wal_checked = False
        self._readers = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._writers: dict[asyncio.AbstractEventLoop, _Writer] = {}
        self._writers_guard = threading.Lock()  # loops of several threads may bind at once

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

    # --- the inline writer -------------------------------------------------------------------

    def _writer_state(self) -> _Writer:
        loop = asyncio.get_running_loop()
        writer = self._writers.get(loop)
        if writer is None:
            with self._writers_guard:
                for old in [old for old in self._writers if old.is_closed()]:
                    self._writers.pop(old).close()
                writer = self._writers.setdefault(loop, _Writer())
        return writer

    async def _lock_writer(self) -> tuple[_Writer, float]:
        """Take this loop's write lock, waiting cooperatively up to :attr:`busy_timeout`;
        returns the writer and the deadline the rest of the wait must keep to."""
        writer = self._writer_state()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout
        try:
            # asyncio.timeout, not wait_for: no task per write. Bounded even in the process, so a
            # writer that the lock's holder is itself waiting for fails instead of hanging.
            async with asyncio.timeout(self.busy_timeout):
                await writer.lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        return writer, deadline

    async def _writer_connection(self, writer: _Writer, deadline: float) -> sqlite3.Connection:
        if writer.connection is None:
            raw = sqlite3.connect(
                **{**self.connection_kwargs, "timeout": 0}, check_same_thread=False
            )
            try:
                raw.row_factory = dict_factory
                raw.execute("PRAGMA busy_timeout = 0")  # waits are ours: see the module
                raw.execute("PRAGMA foreign_keys = 1")
                raw.execute("PRAGMA synchronous = NORMAL")
                if not self._wal_checked:
                    await self._retry_busy(lambda: raw.execute("PRAGMA journal_mode=WAL"), deadline)
                    self._wal_checked = True
            except BaseException:
                raw.close()
                raise
            writer.connection = raw
        return writer.connection

    async def _retry_busy(self, attempt: Callable[[], T], deadline: float) -> T:
        """``attempt()``, tried again after a growing sleep while SQLite answers busy (another
        process holds the write lock), until ``deadline``; then its error is raised."""
        loop = asyncio.get_running_loop()
        delay = FIRST_RETRY_S
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or loop.time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, LONGEST_RETRY_S)

    async def _write_inline(self, query: str, args: list[Any]) -> list[dict[str, Any]]:
        """One statement outside a transaction, as its own write transaction."""
        writer, deadline = await self._lock_writer()
        try:
            raw = await self._writer_connection(writer, deadline)
            if query.lstrip()[:6].upper().startswith(_AUTOCOMMIT_ONLY):
                return await self._retry_busy(lambda: raw.execute(query, args).fetchall(), deadline)
            await self._retry_busy(lambda: raw.execute("BEGIN IMMEDIATE"), deadline)
            try:
                rows = raw.execute(query, args).fetchall()
                raw.execute("COMMIT")
            except BaseException:
                _abandon(writer, raw)
                raise
            return rows
        finally:
            writer.lock.release()

    # --- the aiosqlite pool (deferred transactions, batch) -----------------------------------

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
        """Close every idle connection, the writers and the readers; called at shutdown and
        between tests."""
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await connection.close()
            except Exception:  # noqa: BLE001
                pass
        self._open = 0
        self._available = None
        self._loop = None
        with self._writers_guard:
            writers, self._writers = self._writers, {}
        for writer in writers.values():
            writer.close()
        readers, self._all_readers = self._all_readers, []
        self._readers = threading.local()
        for reader in readers:
            reader.close()

    async def get_connection(self) -> aiosqlite.Connection:  # used by Piccolo's batch()
        return await self._connect()

    # --- Piccolo's entry points --------------------------------------------------------------

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if _is_read(query):
            return self._reader().execute(query, args or []).fetchall()
        return await self._write_inline(query, args or [])

    async def _run_in_existing_connection(
        self, connection, query, args=None, query_type="generic", table=None
    ):
        # Kept connections have foreign keys on already; Piccolo's stock engine re-sets it
        # before every statement.
        if isinstance(connection, InlineConnection):
            return connection.raw.execute(query, args or []).fetchall()
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        """A write transaction (immediate, exclusive) runs inline on the loop's writer; a
        deferred one on a pooled aiosqlite connection. Nested ones join the outer."""
        kind = (
            _PooledTransaction
            if transaction_type is TransactionType.deferred
            else _InlineTransaction
        )
        return kind(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == _SQLITE_BUSY
    return "locked" in str(exc).lower()


def _is_read(query: str) -> bool:
    """A plain ``SELECT`` (what Piccolo's select, count, exists and the core's raw reads
    send); anything else, ``WITH`` included, takes the writer's path."""
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
