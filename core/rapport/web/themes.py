"""Themes: template and static sets layered over the default theme.

A theme is a distribution registering a :class:`Theme` under the ``rapport.themes``
entry-point group. Templates are looked up in the chosen theme first, then in plugins'
template folders, then in the default theme; ``core:name.html`` always names the default
theme's template, so a theme can override ``base.html`` and still
``{% extends "core:base.html" %}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from stevedore import ExtensionManager

from rapport.web import i18n

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


def template_environment(
    themes: dict[str, Theme], chosen: str = DEFAULT_THEME, plugin_dirs: list[Path] | None = None
) -> Environment:
    if DEFAULT_THEME not in themes:
        raise RuntimeError("the default theme (rapport-theme-default) is not installed")
    default = FileSystemLoader(str(themes[DEFAULT_THEME].templates))
    layers: list[FileSystemLoader] = []
    if chosen in themes and chosen != DEFAULT_THEME:
        layers.append(FileSystemLoader(str(themes[chosen].templates)))
    layers.extend(FileSystemLoader(str(d)) for d in plugin_dirs or [])
    loader = ChoiceLoader([PrefixLoader({"core": default}, delimiter=":"), *layers, default])
    environment = Environment(
        loader=loader,
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    environment.globals["static_url"] = lambda name: f"/static/{name}"
    environment.filters.update(
        datetime=i18n.fmt_datetime,
        date=i18n.fmt_date,
        ago=i18n.fmt_ago,
        number=i18n.fmt_number,
        money=i18n.fmt_money,
    )
    return environment
