"""Group commit: short writes of concurrent callers share one write transaction.

A public endpoint that stores one row per request (a web form's accepted submission) pays,
per request, for taking the write lock, ``BEGIN IMMEDIATE`` and ``COMMIT`` — and under load
mostly for waiting its turn behind the other processes that write the same file. A
:class:`GroupCommit` lets the callers of one process queue their writes: the first starts a
flush, which waits for the write transaction; every write queued by the time it has it
(up to ``max_batch``) runs in that transaction, and each caller's ``await`` returns only
after the commit. So a caller that got its result knows its write is committed, and the lock
is taken once for a crowd.

A write that raises spoils the shared transaction: it is rolled back, and each write of that
group is run again alone, in its own transaction, so the others are stored and the failing
one gets its own exception. A failure of the database itself (locked for too long, down)
fails the whole group with that error, since running the writes again one by one would
only wait as long again for each.

Writes must be short and touch only the database: a queued write runs in the flushing task,
not the caller's, with whatever context variables the first caller of the flush had.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rapport.db.errors import database_unavailable
from rapport.db.transaction import in_transaction, transaction

log = logging.getLogger("rapport.db.group_commit")

T = TypeVar("T")
MAX_BATCH = 64


class GroupCommit:
    """Runs queued writes in shared transactions; one instance per kind of write."""

    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: list[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: How many transactions were committed, and writes in them (for tests and benches).
        self.commits = 0
        self.writes = 0

    async def run(self, write: Callable[[], Awaitable[T]]) -> T:
        """Run ``write()`` in a shared write transaction; its result, once committed.

        Inside an open transaction the write simply joins it (the caller commits)."""
        if in_transaction():
            return await write()
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing of the old one is valid
            self._queue, self._flusher, self._loop = [], None, loop
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((write, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="rapport-group-commit")
        return await future

    async def _flush(self) -> None:
        while self._queue:
            await self._one_group()

    async def _one_group(self) -> None:
        group: list[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]]] = []
        results: list[Any] = []
        try:
            async with transaction():
                # Taken only now, holding the write lock: whoever queued while we waited
                # for it comes along.
                group, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                for write, _future in group:
                    results.append(await write())
        except Exception as exc:  # noqa: BLE001 - whatever a write raises goes to its caller
            if not group:
                group, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            if database_unavailable(exc) or len(group) == 1:
                for _write, future in group:
                    _fail(future, exc)
                return
            log.info("a write of a group of %d failed; running each alone", len(group))
            for write, future in group:
                await self._alone(write, future)
            return
        except BaseException:  # cancelled (the worker or the app stopping): rolled back
            if not group:
                group, self._queue = self._queue, []
            for _write, future in group:
                future.cancel()
            raise
        self.commits += 1
        self.writes += len(group)
        for (_write, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _alone(
        self, write: Callable[[], Awaitable[Any]], future: asyncio.Future[Any]
    ) -> None:
        try:
            async with transaction():
                result = await write()
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            _fail(future, exc)
            return
        self.commits += 1
        self.writes += 1
        if not future.done():
            future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if future.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
