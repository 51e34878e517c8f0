"""Discovery, quarantine, enabling and the one pluggy ``PluginManager``.

stevedore finds the distributions registered under the ``rapport.plugins`` entry-point group
and imports them, each in isolation: one that fails to import, has a bad manifest, targets
another API major version or requires a plugin that is not there is *quarantined* with its
reason, and everything else still starts. pluggy is used only for specifications and calls.

The pluggy manager holds the core's default plugins and the *enabled* plugins; enabling and
disabling register and unregister at run time. Which plugins are enabled lives in the
database (``rapport_plugin_state``); :meth:`PluginRegistry.sync` re-reads it, so a change made
in one process reaches the others.
"""

from __future__ import annotations

import inspect
import logging
import time
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy
from stevedore import ExtensionManager

from rapport import hookspecs
from rapport.plugins.manifest import Manifest

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "rapport.plugins"
SYNC_INTERVAL = 1.0  # seconds between re-reads of the enabled set from the database


class PluginError(Exception):
    """An administrator's request about plugins that cannot be done; the message says why."""


@dataclass
class InstalledPlugin:
    name: str
    module: ModuleType
    manifest: Manifest
    distribution: str = ""


@dataclass
class QuarantinedPlugin:
    name: str
    reason: str
    detail: str = ""


def default_plugin_modules() -> list[ModuleType]:
    """The core's own features, written as plugins on the public hooks."""
    from rapport.defaults import core_plugin

    return [core_plugin]


class PluginRegistry:
    def __init__(self, discover: bool = True) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.installed: dict[str, InstalledPlugin] = {}
        self.quarantined: dict[str, QuarantinedPlugin] = {}
        self.enabled: set[str] = set()
        self._last_sync = 0.0
        for module in default_plugin_modules():
            self.pm.register(module, name=f"core.{module.__name__.rsplit('.', 1)[-1]}")
        if discover:
            self.discover()

    # --- discovery ---------------------------------------------------------------------------

    def discover(self) -> None:
        def failed(_manager: Any, entry_point: Any, exc: BaseException) -> None:
            self.quarantined[entry_point.name] = QuarantinedPlugin(
                entry_point.name,
                f"failed to import: {type(exc).__name__}: {exc}",
                "".join(traceback.format_exception(exc)),
            )

        manager = ExtensionManager(
            namespace=ENTRY_POINT_GROUP,
            invoke_on_load=False,
            on_load_failure_callback=failed,
        )
        for extension in manager.extensions:
            self._admit(
                extension.name, extension.plugin, getattr(extension.entry_point, "dist", None)
            )
        self._check_requirements()

    def add(self, module: ModuleType, name: str | None = None) -> None:
        """Install a plugin module directly (tests, embedded use); same checks as discovery."""
        manifest = getattr(module, "manifest", None)
        self._admit(name or getattr(manifest, "name", module.__name__), module, None)
        self._check_requirements()

    def _admit(self, name: str, module: Any, dist: Any) -> None:
        manifest = getattr(module, "manifest", None)
        if not isinstance(manifest, Manifest):
            self.quarantined[name] = QuarantinedPlugin(
                name, "has no `manifest = Manifest(...)` at module level"
            )
            return
        problems = manifest.problems()
        if manifest.name != name:
            problems.append(f"entry point {name!r} differs from manifest name {manifest.name!r}")
        unknown = self._unknown_hooks(module)
        if unknown:
            problems.append(f"implements unknown hooks: {', '.join(sorted(unknown))}")
        if problems:
            self.quarantined[name] = QuarantinedPlugin(name, "; ".join(problems))
            return
        if name in self.installed and self.installed[name].module is not module:
            self.quarantined[name] = QuarantinedPlugin(
                name, "two distributions register this plugin name"
            )
            del self.installed[name]
            return
        self.installed[name] = InstalledPlugin(
            name, module, manifest, getattr(dist, "name", "") if dist else ""
        )

    def _unknown_hooks(self, module: Any) -> set[str]:
        """Hook implementations whose name no spec has (a misspelt ``handle_evnet``)."""
        unknown = set()
        for attr in dir(module):
            value = getattr(module, attr, None)
            if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_impl"):
                if not hasattr(self.pm.hook, attr):
                    unknown.add(attr)
        return unknown

    def _check_requirements(self) -> None:
        # Repeat until stable: quarantining one plugin can break another that requires it.
        changed = True
        while changed:
            changed = False
            for name, plugin in list(self.installed.items()):
                missing = [r for r in plugin.manifest.requires if r not in self.installed]
                if missing:
                    detail = ", ".join(
                        f"{r} ({self.quarantined[r].reason})" if r in self.quarantined else r
                        for r in missing
                    )
                    self.quarantined[name] = QuarantinedPlugin(
                        name, f"requires {detail}, which is not installed or not loadable"
                    )
                    del self.installed[name]
                    self.enabled.discard(name)
                    changed = True

    # --- enabled set ----------------------------------------------------------------------------

    def is_enabled(self, name: str) -> bool:
        return name in self.enabled

    def set_enabled(self, names: set[str]) -> None:
        """Make exactly ``names`` (those installed) registered with pluggy."""
        names = {n for n in names if n in self.installed}
        for name in self.enabled - names:
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
        for name in sorted(names - self.enabled):
            self.pm.register(self.installed[name].module, name=name)
        self.enabled = names
        self.pm.check_pending()

    def sync_due(self) -> bool:
        return time.monotonic() - self._last_sync >= SYNC_INTERVAL

    def mark_synced(self) -> None:
        self._last_sync = time.monotonic()

    # --- requirement closure ---------------------------------------------------------------------

    def with_requirements(self, name: str) -> list[str]:
        """``name`` and everything it requires, requirements first."""
        if name not in self.installed:
            raise PluginError(self.unavailable_reason(name))
        order: list[str] = []

        def visit(current: str, path: tuple[str, ...]) -> None:
            if current in order:
                return
            if current in path:
                raise PluginError(f"circular requirement: {' → '.join(path + (current,))}")
            if current not in self.installed:
                raise PluginError(self.unavailable_reason(current))
            for required in self.installed[current].manifest.requires:
                visit(required, path + (current,))
            order.append(current)

        visit(name, ())
        return order

    def dependents(self, name: str, among: set[str]) -> list[str]:
        return sorted(
            other
            for other in among
            if other != name and name in self.installed[other].manifest.requires
        )

    def unavailable_reason(self, name: str) -> str:
        if name in self.quarantined:
            return f"plugin {name!r} is quarantined: {self.quarantined[name].reason}"
        return f"plugin {name!r} is not installed"

    # --- calling hooks ---------------------------------------------------------------------

    def impls(self, hook_name: str, only: str | None = None) -> list[pluggy.HookImpl]:
        """Implementations of a hook in call order, optionally of one plugin only."""
        caller = getattr(self.pm.hook, hook_name)
        impls = list(reversed(caller.get_hookimpls()))
        if only is not None:
            impls = [i for i in impls if i.plugin_name == only]
        return impls

    async def call(self, hook_name: str, only: str | None = None, **kwargs: Any) -> list[Any]:
        """Call every implementation (awaiting async ones); return the non-None results."""
        results = []
        for impl in self.impls(hook_name, only):
            result = await _invoke(impl, kwargs)
            if result is not None:
                results.append(result)
        return results

    async def call_first(self, hook_name: str, **kwargs: Any) -> Any:
        """Call implementations in order until one returns something other than None."""
        for impl in self.impls(hook_name):
            result = await _invoke(impl, kwargs)
            if result is not None:
                return result
        return None

    def collect(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Concatenate the lists that synchronous ``register_*`` implementations return."""
        items: list[Any] = []
        for result in getattr(self.pm.hook, hook_name)(**kwargs):
            items.extend(result or [])
        return items

    def collect_from(self, modules: list[ModuleType], hook_name: str, **kwargs: Any) -> list[Any]:
        """Like :meth:`collect`, for plugin modules that need not be enabled (routes, commands)."""
        items: list[Any] = []
        for module in modules:
            func = getattr(module, hook_name, None)
            if func is None or not hasattr(func, f"{hookspecs.PROJECT}_impl"):
                continue
            params = inspect.signature(func).parameters
            items.extend(func(**{k: v for k, v in kwargs.items() if k in params}) or [])
        return items

    def all_modules(self) -> list[ModuleType]:
        return default_plugin_modules() + [p.module for p in self.installed.values()]


async def _invoke(impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> Any:
    result = impl.function(*[kwargs[name] for name in impl.argnames])
    if inspect.isawaitable(result):
        result = await result
    return result
