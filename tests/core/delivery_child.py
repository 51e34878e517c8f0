"""A worker process for the delivery crash test (``test_delivery.py``).

``python delivery_child.py OUT_FILE PAUSE`` starts Rapport on the database the environment
names (``RAPPORT_DATABASE_URL``, ``RAPPORT_DATA_DIR``), registers a consumer that appends
``<event id> <key>`` to OUT_FILE for each event it is handed (one flushed line each) and then
sleeps PAUSE seconds, and runs the worker until SIGTERM. The test kills it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import types
from typing import Any

from rapport import bootstrap
from rapport.events import delivery
from rapport.events.consumers import Consumer
from rapport.hookspecs import hookimpl
from rapport.jobs.worker import run_worker
from rapport.settings import load_settings

CONSUMER = "crash-test"


def consumer_module(out_path: str, pause: float) -> types.ModuleType:
    out = open(out_path, "a", buffering=1, encoding="utf-8")  # open as long as the process

    async def handle(event: Any, meta: Any) -> None:
        out.write(f"{meta.id} {meta.key}\n")
        await asyncio.sleep(pause)

    module = types.ModuleType("rapport_crash_test_consumer")

    @hookimpl
    def register_event_consumers() -> list[Consumer]:
        return [Consumer(CONSUMER, handle)]

    module.register_event_consumers = register_event_consumers  # type: ignore[attr-defined]
    return module


async def main(out_path: str, pause: float) -> None:
    # A short lease, so the restarted worker takes over from the killed one within seconds.
    delivery.DEFAULTS = dataclasses.replace(
        delivery.DEFAULTS, lease_seconds=1.0, budget=0.5, gap_settle=0.05
    )
    runtime = await bootstrap.start(load_settings())
    runtime.plugins.pm.register(consumer_module(out_path, pause), name="test.crash")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await run_worker(runtime, stop=stop, name=f"child-{os.getpid()}", poll_interval=0.05)
    finally:
        await bootstrap.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
