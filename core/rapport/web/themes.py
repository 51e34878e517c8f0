"""Themes: template and static sets layered over the default theme.

A theme is a distribution registering a :class:`Theme` under the ``rapport.themes``
entry-point group. Templates are looked up in the chosen theme first, then in plugins'
template folders, then in the default theme; ``core:name.html`` always names the default
theme's template, so a theme can override ``base.html`` and still
``{% extends "core:base.html" %}``.

The administrator picks the theme at run time: the app builds one Jinja environment per
installed theme, :func:`theme_middleware` sets the theme of each request from the instance
setting, and :class:`ThemedTemplateEngine` renders with that theme's environment. Each
theme's static folder is served under ``/static/themes/<name>/`` (``theme_static_url`` in its
templates); ``static_url`` keeps naming the default theme's and the core's files.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from jinja2 import Template as JinjaTemplate
from jinja2 import TemplateNotFound as JinjaTemplateNotFound
from litestar.exceptions import TemplateNotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.types import ASGIApp, Receive, Scope, Send
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


@cache
def installed_themes() -> Mapping[str, Theme]:
    """The installed themes, read once per process (installing one needs a restart anyway)."""
    return MappingProxyType(discover_themes())


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
    theme_name = chosen if chosen in themes else DEFAULT_THEME
    environment.globals["theme_static_url"] = lambda name: theme_static_path(theme_name, name)
    environment.globals["theme_name"] = theme_name
    environment.filters.update(
        datetime=i18n.fmt_datetime,
        date=i18n.fmt_date,
        ago=i18n.fmt_ago,
        number=i18n.fmt_number,
        money=i18n.fmt_money,
    )
    return environment


# --- choosing the theme per request ----------------------------------------------------------

_theme: contextvars.ContextVar[str] = contextvars.ContextVar("rapport_theme", default=DEFAULT_THEME)


def theme_static_path(theme: str, name: str) -> str:
    """Where a theme's own static file is served: each theme under its own prefix, so the
    chosen theme can change per request without one theme's files shadowing another's."""
    return f"/static/themes/{theme}/{name}"


def set_theme(name: str) -> contextvars.Token[str]:
    return _theme.set(name)


def current_theme() -> str:
    return _theme.get()


class ThemedTemplateEngine(JinjaTemplateEngine):
    """Litestar's Jinja engine holding one environment per installed theme; templates come
    from the environment of the theme the current request runs under (see
    :func:`theme_middleware`), so switching themes needs no restart."""

    def __init__(self, environments: Mapping[str, Environment], fallback: str = DEFAULT_THEME):
        # Set before the parent registers csrf_token & co., which must reach every environment.
        self.environments = dict(environments)
        self.fallback = fallback
        super().__init__(directory=None, engine_instance=self.environments[fallback])

    def environment(self) -> Environment:
        return self.environments.get(_theme.get()) or self.environments[self.fallback]

    def get_template(self, template_name: str) -> JinjaTemplate:
        try:
            return self.environment().get_template(name=template_name)
        except JinjaTemplateNotFound as exc:
            raise TemplateNotFoundException(template_name=template_name) from exc

    def register_template_callable(self, key: str, template_callable: Any) -> None:
        from jinja2 import pass_context

        for environment in self.environments.values():
            environment.globals[key] = pass_context(template_callable)

    def render_string(self, template_string: str, context: Mapping[str, Any]) -> str:
        return self.environment().from_string(template_string).render(context)


def themed_engine(
    themes: dict[str, Theme], configured: str, plugin_dirs: list[Path]
) -> ThemedTemplateEngine:
    """One environment per installed theme; ``configured`` (``rapport.toml``) is the fallback."""
    environments = {
        name: template_environment(themes, name, plugin_dirs=plugin_dirs) for name in themes
    }
    fallback = configured if configured in environments else DEFAULT_THEME
    return ThemedTemplateEngine(environments, fallback)


def theme_middleware(app: ASGIApp) -> ASGIApp:
    """Set the request's theme (and refresh the instance settings' overrides) before anything
    renders, error pages included; the stored values are re-read at most once a second."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            from rapport.settings_store import refresh

            values = await refresh()
            set_theme(values.theme)
        await app(scope, receive, send)

    return middleware
