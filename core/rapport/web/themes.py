"""Themes: template and static sets layered over the default theme.

A theme is a distribution registering a :class:`Theme` under the ``rapport.themes``
entry-point group. Templates are looked up in the chosen theme first, then in the default;
``core:name.html`` always names the default theme's template, so a theme can override
``base.html`` and still ``{% extends "core:base.html" %}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from stevedore import ExtensionManager

log = logging.getLogger(__name__)

THEME_GROUP = "rapport.themes"
DEFAULT_THEME = "default"


@dataclass(frozen=True)
class Theme:
    name: str
    title: str
    templates: Path
    static: Path


def discover_themes() -> dict[str, Theme]:
    def failed(_manager, entry_point, exc: BaseException) -> None:
        log.error("theme %s failed to load: %s", entry_point.name, exc)

    manager = ExtensionManager(THEME_GROUP, invoke_on_load=False, on_load_failure_callback=failed)
    return {ext.name: ext.plugin for ext in manager.extensions if isinstance(ext.plugin, Theme)}


def template_environment(themes: dict[str, Theme], chosen: str = DEFAULT_THEME) -> Environment:
    if DEFAULT_THEME not in themes:
        raise RuntimeError("the default theme (rapport-theme-default) is not installed")
    default = FileSystemLoader(str(themes[DEFAULT_THEME].templates))
    layers = (
        [FileSystemLoader(str(themes[chosen].templates))]
        if chosen in themes and chosen != DEFAULT_THEME
        else []
    )
    loader = ChoiceLoader([PrefixLoader({"core": default}, delimiter=":"), *layers, default])
    return Environment(
        loader=loader, autoescape=select_autoescape(["html", "xml"]), enable_async=False
    )
