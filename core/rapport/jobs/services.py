"""Long-lived plugin services (an AMI connection, a mailbox poller) run by the worker.

Each :class:`~rapport.jobs.definitions.Service` runs in its own asyncio task. One that raises
is logged and started again after a back-off that doubles up to a minute (and starts over once
a run has lasted a while), so a flapping connection neither spins nor gives up. A service
that returns has finished and is not restarted. When its plugin is disabled its task is
cancelled; when a plugin is enabled its services start, without a restart of the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from rapport.jobs.definitions import Service

log = logging.getLogger("rapport.jobs.services")

RESTART_BASE = 1.0  # seconds before the first restart
RESTART_CAP = 60.0
HEALTHY_AFTER = 60.0  # a run this long resets the back-off

ServiceKey = tuple[str, str]  # (plugin name, service name)


def declared_services(registry: Any) -> dict[ServiceKey, Service]:
    """Every enabled plugin's services, keyed by plugin and service name."""
    found: dict[ServiceKey, Service] = {}
    for impl in registry.impls("register_services"):
        try:
            items = impl.function() or []
        except Exception:
            log.exception("register_services of plugin %r failed", impl.plugin_name)
            continue
        for service in items:
            found[(impl.plugin_name, service.name)] = service
    return found


async def run_supervised(key: ServiceKey, service: Service) -> None:
    """Await ``service.run()`` again and again while it crashes, with back-off."""
    delay = RESTART_BASE
    while True:
        started = time.monotonic()
        try:
            await service.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            if time.monotonic() - started >= HEALTHY_AFTER:
                delay = RESTART_BASE
            log.exception(
                "service %r of plugin %r crashed; restarting in %.1fs", key[1], key[0], delay
            )
            await asyncio.sleep(delay)
            delay = min(RESTART_CAP, delay * 2)
            continue
        log.info("service %r of plugin %r finished", key[1], key[0])
        return


class ServiceSupervisor:
    """Keeps one task per declared service of the plugins currently registered."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.tasks: dict[ServiceKey, asyncio.Task[None]] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._plugins_seen: frozenset[str] | None = None

    def _registered(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.registry.pm.list_name_plugin())

    def sync(self) -> None:
        """Start services of newly registered plugins, stop those of unregistered ones."""
        registered = self._registered()
        if registered == self._plugins_seen:
            return
        self._plugins_seen = registered
        wanted = declared_services(self.registry)
        for key in [k for k in self.tasks if k not in wanted]:
            self._cancel(key)
        for key, service in wanted.items():
            if key not in self.tasks:
                log.info("starting service %r of plugin %r", key[1], key[0])
                self.tasks[key] = asyncio.create_task(
                    run_supervised(key, service), name=f"rapport-service:{key[0]}:{key[1]}"
                )

    def _cancel(self, key: ServiceKey) -> None:
        task = self.tasks.pop(key)
        log.info("stopping service %r of plugin %r", key[1], key[0])
        task.cancel()
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def stop(self, grace: float = 10.0) -> None:
        """Cancel every service and wait (up to ``grace`` seconds) for their clean-up to run."""
        for key in list(self.tasks):
            self._cancel(key)
        pending = set(self._stopping)
        if pending:
            done, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                log.error("service task %s did not stop within %.0fs", task.get_name(), grace)
            for task in done:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    task.result()
        self._plugins_seen = None
