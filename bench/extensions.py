"""Plugin extension points of the harness: extra data and extra scenarios per plugin.

A plugin that wants to be measured ships a module ``<its package>.bench`` with either or both
of

* ``generate(connection, context) -> dict[str, int]`` — bulk-insert its data set into the
  plain ``sqlite3`` connection (inside the harness's load transaction); ``context`` is a
  :class:`bench.extensions.DataContext`; the result names what it wrote and how many rows;
* ``scenarios() -> list[bench.scenarios.Scenario]``-like objects: anything with ``name`` and
  an ``async run(ctx)`` returning measurement rows.

The harness never imports a plugin that is not installed: the registry below names each
plugin the issue asks about and its import package, and the package is only looked for
(``importlib.util.find_spec``) before anything is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class PluginTarget:
    name: str  # the plugin's entry-point name
    package: str  # its import package
    data: str  # what the data set holds, for the report
    scenario: str  # what the scenarios measure, for the report


KNOWN = [
    PluginTarget(
        "funnel",
        "rapport_funnel",
        "100,000 deals (1,000 of them open on the board)",
        "funnel board (1,000 open deals) and the conversion report over 100,000 deals",
    ),
    PluginTarget(
        "webforms",
        "rapport_webforms",
        "10,000 form submissions",
        "web-form intake with 2 workers and the kill -9 no-loss check",
    ),
]


@dataclass
class DataContext:
    seed: int
    contacts: int
    user_ids: list[int]
    sizes: dict[str, int] = field(default_factory=dict)  # wanted rows per data set


@dataclass
class Found:
    target: PluginTarget
    module: ModuleType | None  # <package>.bench, when installed and shipped
    reason: str  # why it is skipped (empty when usable)


def installed(target: PluginTarget) -> bool:
    return importlib.util.find_spec(target.package) is not None


def find(target: PluginTarget) -> Found:
    if not installed(target):
        return Found(target, None, f"skipped: plugin {target.name} not installed")
    name = f"{target.package}.bench"
    try:
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(name)
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        return Found(
            target,
            None,
            f"skipped: plugin {target.name} is installed but ships no {name} module",
        )
    return Found(target, module, "")


def all_found() -> list[Found]:
    return [find(t) for t in KNOWN]


def plugin_scenarios(found: Found) -> list[Any]:
    if found.module is None or not hasattr(found.module, "scenarios"):
        return []
    return list(found.module.scenarios())
