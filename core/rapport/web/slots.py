"""What UI slot hooks return, and calling them so one failing plugin cannot break a page."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from rapport.runtime import current

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MenuItem:
    label: str  # already translated by the plugin
    url: str
    order: int = 100
    permission: str | None = None
    key: str = ""  # stable name for tests and styling, e.g. "contacts"


@dataclass(frozen=True)
class CardPanel:
    title: str
    html: str  # rendered HTML (use rapport.api.render_html); shown as is
    order: int = 100
    key: str = ""


@dataclass(frozen=True)
class ContactAction:
    label: str
    url: str
    method: str = "GET"  # "POST" actions are sent with the CSRF token
    order: int = 100
    key: str = ""
    confirm: str | None = None


@dataclass(frozen=True)
class DashboardWidget:
    title: str
    html: str
    order: int = 100
    key: str = ""


@dataclass(frozen=True)
class SlotError:
    """Stands in for a plugin's contribution that raised: shown as an error box."""

    plugin: str
    title: str
    message: str

    @property
    def html(self) -> Markup:
        return Markup('<div class="slot-error" role="alert"><strong>{}</strong> {}</div>').format(
            self.title, self.message
        )


async def call_slot(hook_name: str, **kwargs: Any) -> list[Any]:
    """Call every enabled plugin's implementation; a failure becomes a :class:`SlotError`."""
    from rapport.web.i18n import gettext as _

    items: list[Any] = []
    for impl in current().plugins.impls(hook_name):
        try:
            result = impl.function(*[kwargs[name] for name in impl.argnames])
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            log.exception("plugin %s failed in %s", impl.plugin_name, hook_name)
            items.append(
                SlotError(
                    impl.plugin_name,
                    _("This part of the page could not be shown."),
                    _(
                        "Plugin %(name)s reported an error: %(error)s",
                        name=impl.plugin_name,
                        error=type(exc).__name__,
                    ),
                )
            )
            continue
        items.extend(result or [])
    return sorted(items, key=lambda item: getattr(item, "order", 1000))


__all__ = [
    "CardPanel",
    "ContactAction",
    "DashboardWidget",
    "MenuItem",
    "SlotError",
    "call_slot",
    "escape",
]
