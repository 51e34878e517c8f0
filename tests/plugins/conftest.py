"""Helpers for the plugin-system tests: test plugins as modules, and fixture distributions made
discoverable through entry points for one test only."""

from __future__ import annotations

import shutil
import sys
import tomllib
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rapport.plugins.manifest import Manifest
from stevedore import _cache as stevedore_cache
from stevedore.extension import ExtensionManager

FIXTURE_DISTRIBUTIONS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"

_modules_made = 0


def _plugin_module(name: str, *hooks: Callable, **manifest: object) -> types.ModuleType:
    """A plugin as an in-memory module: ``manifest`` plus the given ``@hookimpl`` functions.

    Add it to a registry with ``registry.add(module)``, as a test or an embedding would.
    """
    global _modules_made
    _modules_made += 1
    module = types.ModuleType(f"rapport_test_plugin_{name}_{_modules_made}")
    fields: dict[str, object] = {"title": name.title(), "version": "1.0"} | manifest
    module.manifest = Manifest(name=name, **fields)  # type: ignore[arg-type]
    for hook in hooks:
        setattr(module, hook.__name__, hook)
    return module


@pytest.fixture
def make_plugin() -> Callable[..., types.ModuleType]:
    """``make_plugin("name", hook, hook2, requires=(...), ...)`` → a plugin module."""
    return _plugin_module


def _write_distribution(project: Path, site: Path) -> list[str]:
    """Copy a fixture project's package into ``site`` with the ``.dist-info`` pip would write.

    Returns the top-level package names (to forget them from ``sys.modules`` afterwards).
    """
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    meta = pyproject["project"]
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for package in packages:
        shutil.copytree(project / package, site / package)
    dist_info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
    )
    lines = []
    for group, entries in meta.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {target}" for name, target in entries.items())
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return packages


@pytest.fixture
def fixture_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Path]]:
    """Make fixture distributions (``tests/fixtures/plugins/<name>``) installed for this test.

    stevedore keeps entry points in two caches: ``ExtensionManager.ENTRY_POINT_CACHE``, a
    class-level dict per namespace that lives as long as the process, and a cache keyed by the
    hash of ``sys.path`` (in memory and as files under ``~/.cache/python-entrypoints``). The
    test gets a fresh dict and a cache directory of its own, both put back afterwards, so it
    sees the new entry points and no other test ever does.
    """
    site = tmp_path / "site-packages"
    site.mkdir()
    packages: list[str] = []
    monkeypatch.setattr(ExtensionManager, "ENTRY_POINT_CACHE", {})
    cache = stevedore_cache.Cache(cache_dir=str(tmp_path / "entry-point-cache"))
    monkeypatch.setattr(stevedore_cache, "get_group_all", cache.get_group_all)

    def install(*names: str) -> Path:
        for name in names:
            packages.extend(_write_distribution(FIXTURE_DISTRIBUTIONS / name, site))
        monkeypatch.syspath_prepend(str(site))
        ExtensionManager.ENTRY_POINT_CACHE.clear()
        return site

    yield install
    for loaded in list(sys.modules):
        if any(loaded == p or loaded.startswith(p + ".") for p in packages):
            del sys.modules[loaded]
