"""PostgreSQL databases for tests, cloned from a template ahead of time and dropped behind.

A test on PostgreSQL gets a database of its own, ``CREATE DATABASE … TEMPLATE`` of a migrated
template. Creating one takes about 0.1 s, but dropping one takes 1–2 s on this kind of machine
(PostgreSQL flushes and syncs the dropped database's files before it answers), which made
dropping most of a PostgreSQL test run's time. Neither needs the test to wait: a thread with
its own event loop and connection keeps a few clones ready and drops used ones while the
next tests run, and the session waits for the last drops at its end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from typing import Any
from urllib.parse import urlparse

READY_AHEAD = 3


async def admin_connection(url: str) -> Any:
    """A connection to the server's ``postgres`` database, as the URL's user."""
    import asyncpg

    parsed = urlparse(url)
    return await asyncpg.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database="postgres",
    )


async def run_admin(url: str, *statements: str) -> None:
    """Run statements on the server's ``postgres`` database on a connection of their own."""
    connection = await admin_connection(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class CloneSupply:
    """Clones of ``template`` made ahead and dropped behind, on a thread of their own.

    ``take()`` hands out a ready database name (waiting only when none is ready yet);
    ``give_back(name)`` queues its drop; ``close()`` waits for the queued drops, drops the
    clones nobody took and stops the thread. Drops run several at a time: PostgreSQL serves
    concurrent drops with one checkpoint, so eight cost about what one does alone.
    """

    MAX_CONCURRENT_DROPS = 8

    def __init__(
        self,
        server_url: str,
        template: str,
        ahead: int = READY_AHEAD,
        prefix: str = f"rapport_t_{os.getpid()}_",
    ) -> None:
        self.server_url = server_url
        self.template = template
        self.ahead = ahead
        self._names = (f"{prefix}{n}" for n in itertools.count())
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="pg-clones", daemon=True
        )
        self._thread.start()
        self._call(self._start())

    def take(self) -> str:
        return self._call(self._take())

    def give_back(self, name: str) -> None:
        self._loop.call_soon_threadsafe(self._drops.put_nowait, name)

    def close(self) -> None:
        try:
            self._call(self._close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    # --- on the supply's own loop ------------------------------------------------------------

    async def _start(self) -> None:
        import asyncpg

        parsed = urlparse(self.server_url)
        self._pool = await asyncpg.create_pool(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            database="postgres",
            min_size=1,
            max_size=self.MAX_CONCURRENT_DROPS + 1,
        )
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._drops: asyncio.Queue[str] = asyncio.Queue()
        self._taken = asyncio.Event()
        self._failure: BaseException | None = None
        self._creating: str | None = None
        self._tasks = [
            asyncio.create_task(self._keep_ready()),
            asyncio.create_task(self._drop_behind()),
        ]

    async def _take(self) -> str:
        while self._ready.empty():
            if self._failure is not None:
                raise self._failure
            await asyncio.sleep(0.01)
        name = self._ready.get_nowait()
        self._taken.set()
        return name

    async def _keep_ready(self) -> None:
        try:
            while True:
                while self._ready.qsize() < self.ahead:
                    name = self._creating = next(self._names)
                    await self._pool.execute(
                        f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'
                    )
                    self._creating = None
                    self._ready.put_nowait(name)
                self._taken.clear()
                await self._taken.wait()
        except Exception as error:  # noqa: BLE001 - raised by the test that waits
            self._failure = error

    async def _drop_behind(self) -> None:
        while True:
            batch = [await self._drops.get()]
            while not self._drops.empty() and len(batch) < self.MAX_CONCURRENT_DROPS:
                batch.append(self._drops.get_nowait())
            results = await asyncio.gather(
                *(self._pool.execute(_drop_statement(name)) for name in batch),
                return_exceptions=True,
            )
            for _ in batch:
                self._drops.task_done()
            for result in results:
                if isinstance(result, Exception) and self._failure is None:
                    self._failure = result

    async def _close(self) -> None:
        await self._drops.join()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        leftover = [self._creating] if self._creating else []
        while not self._ready.empty():
            leftover.append(self._ready.get_nowait())
        await asyncio.gather(*(self._pool.execute(_drop_statement(n)) for n in leftover))
        await self._pool.close()
        if self._failure is not None:
            raise self._failure


def _drop_statement(name: str) -> str:
    return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
