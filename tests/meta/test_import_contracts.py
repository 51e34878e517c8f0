"""The import-linter contracts hold, and they cover every plugin in this repository."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tomllib
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_GROUP = "rapport.plugins"


def _importlinter_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _contract(contract_id: str) -> dict:
    contracts = {c.get("id"): c for c in _importlinter_config()["contracts"]}
    return contracts[contract_id]


def _repository_plugin_packages() -> dict[str, str]:
    """Top-level import package → where it lives, for every ``rapport.plugins`` entry point
    of a distribution in this repository (``plugins/*`` or ``docs/examples/*``): those declared
    in the checkout's ``pyproject.toml`` files and those installed from this checkout."""
    found: dict[str, str] = {}
    pyprojects = [
        *ROOT.glob("plugins/*/pyproject.toml"),
        *ROOT.glob("docs/examples/*/pyproject.toml"),
    ]
    for pyproject in pyprojects:
        project = tomllib.loads(pyproject.read_text())["project"]
        for target in project.get("entry-points", {}).get(PLUGIN_GROUP, {}).values():
            found[_top_package(target)] = str(pyproject.parent.relative_to(ROOT))
    for entry_point in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        location = _installed_from(entry_point.dist)
        if location is not None and location.is_relative_to(ROOT):
            found[_top_package(entry_point.value)] = str(location.relative_to(ROOT))
    return found


def _top_package(target: str) -> str:
    return target.split(":")[0].split(".")[0]


def _installed_from(dist: importlib.metadata.Distribution | None) -> Path | None:
    """The local directory a distribution was installed from (``pip install [-e] DIR``)."""
    raw = dist.read_text("direct_url.json") if dist is not None else None
    if not raw:
        return None
    url = json.loads(raw).get("url", "")
    return (
        Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
        if url.startswith("file:")
        else None
    )


def test_lint_imports_passes():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_cover_every_plugin_of_this_repository():
    packages = _repository_plugin_packages()
    assert "rapport_hello" in packages  # the example plugin, at least

    root_packages = set(_importlinter_config()["root_packages"])
    independent = set(_contract("plugins-independent")["modules"])
    not_analysed = sorted(set(packages) - root_packages)
    assert not not_analysed, (
        f"add these plugin packages to [tool.importlinter] root_packages: {not_analysed}"
    )
    not_independent = sorted(set(packages) - independent)
    assert not not_independent, (
        f"add these plugin packages to the plugins-independent contract: {not_independent}"
    )


def test_the_public_api_contract_guards_every_non_core_package():
    contract = _contract("public-api-only")
    assert contract["type"] == "protected"
    assert contract["protected_modules"] == ["rapport.*"]
    assert contract["allowed_importers"] == ["rapport"]
    # Only the public API and the test kit are exempt.
    assert sorted(contract["ignore_imports"]) == ["** -> rapport.api", "** -> rapport.testing"]
