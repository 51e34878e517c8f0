"""Rapport's dark theme: a few templates over the default theme, plus a stylesheet."""

from pathlib import Path

from rapport.api import Theme

_HERE = Path(__file__).parent

theme = Theme(
    name="dark",
    title="Dark",
    templates=_HERE / "templates",
    static=_HERE / "static",
)
