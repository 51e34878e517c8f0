"""Rapport's default theme."""

from pathlib import Path

from rapport.api import Theme

_HERE = Path(__file__).parent

theme = Theme(
    name="default",
    title="Default",
    templates=_HERE / "templates",
    static=_HERE / "static",
)
