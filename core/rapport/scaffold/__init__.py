"""``rapport plugin new``: a complete plugin distribution, ready to install and test.

The files under ``files/`` are :class:`string.Template` texts (``$name``, ``$package``…);
``package`` in their paths stands for the import package, ``name`` for the plugin's name.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from rapport.plugins.manifest import NAME_PATTERN

FILES = Path(__file__).parent / "files"
SUFFIX = ".tmpl"


class ScaffoldError(ValueError):
    pass


@dataclass(frozen=True)
class PluginNames:
    name: str  # the plugin's name: entry point, manifest, Piccolo app, table prefix
    package: str  # rapport_<name>
    dist: str  # rapport-<name with dashes>
    title: str

    @classmethod
    def from_name(cls, name: str) -> PluginNames:
        problem = name_problem(name)
        if problem:
            raise ScaffoldError(problem)
        return cls(
            name=name,
            package=f"rapport_{name}",
            dist="rapport-" + name.replace("_", "-"),
            title=name.replace("_", " ").capitalize(),
        )


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a plugin (None when it can), with a suggestion."""
    if NAME_PATTERN.match(name) and not name.endswith("_") and "__" not in name:
        return None
    suggestion = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if suggestion and not suggestion[0].isalpha():
        suggestion = "p_" + suggestion
    hint = f" (try {suggestion!r})" if suggestion and NAME_PATTERN.match(suggestion) else ""
    return (
        f"{name!r} cannot name a plugin: use 2 to 49 lower-case letters, digits and single"
        f" underscores, starting with a letter{hint}"
    )


def _target(relative: Path, names: PluginNames) -> Path:
    parts = list(relative.parts)
    parts[-1] = parts[-1].removesuffix(SUFFIX)
    if parts[0] == "package":
        parts[0] = names.package
    if parts[:3] == [names.package, "templates", "name"]:
        parts[2] = names.name
    if parts[-2:] == ["migrations", "initial.py"]:
        parts[-1] = f"{names.name}_0001_initial.py"
    if parts == ["tests", "test_plugin.py"]:
        parts[-1] = f"test_{names.name}.py"
    return Path(*parts)


def generate(name: str, directory: Path, rapport_version: str = "0.1") -> Path:
    """Write the distribution for plugin ``name`` into ``directory`` (which must not exist or
    be empty); return ``directory``."""
    names = PluginNames.from_name(name)
    if directory.exists() and any(directory.iterdir()):
        raise ScaffoldError(f"{directory} exists and is not empty")
    values = {
        "name": names.name,
        "package": names.package,
        "dist": names.dist,
        "title": names.title,
        "rapport_version": rapport_version,
        "migration_id": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S:%f"),
    }
    for source in sorted(FILES.rglob("*" + SUFFIX)):
        target = directory / _target(source.relative_to(FILES), names)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(source.read_text()).substitute(values))
    return directory
