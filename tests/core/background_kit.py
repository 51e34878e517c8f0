"""Helpers for the background-work tests: plugins made of a few hooks, and waiting for a
condition with a deadline (never a fixed sleep: the machine may be loaded)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import inspect
import itertools
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rapport.events import delivery
from rapport.hookspecs import hookimpl
from rapport.plugins.manifest import Manifest

_count = itertools.count()


def hook_module(**hooks: Callable[..., Any]) -> types.ModuleType:
    """A module holding ``hooks`` (hook name → function) as ``@hookimpl`` implementations."""
    module = types.ModuleType(f"rapport_bg_test_{next(_count)}")
    for name, function in hooks.items():
        setattr(module, name, hookimpl(function))
    return module


@contextmanager
def registered(runtime: Any, name: str = "test.bg", **hooks: Callable[..., Any]) -> Iterator[Any]:
    """Register a hook module under ``name`` for the duration of the block."""
    module = hook_module(**hooks)
    runtime.plugins.pm.register(module, name=name)
    try:
        yield module
    finally:
        if runtime.plugins.pm.has_plugin(name):
            runtime.plugins.pm.unregister(name=name)


def plugin_module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    """An installable plugin (with a manifest) for ``registry.add`` and enable/disable."""
    module = hook_module(**hooks)
    module.manifest = Manifest(name=name, title=name.title(), version="1.0")  # type: ignore[attr-defined]
    return module


async def eventually(
    condition: Callable[[], Any], within: float = 20.0, interval: float = 0.02
) -> Any:
    """Poll ``condition`` (sync or async) until it returns something truthy; fail after
    ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)


def delivery_options(monkeypatch: Any, **changes: Any) -> None:
    """Change the outbox delivery defaults for one test."""
    monkeypatch.setattr(delivery, "DEFAULTS", dataclasses.replace(delivery.DEFAULTS, **changes))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
