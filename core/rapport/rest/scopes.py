"""API scopes: what a token may do, per area and access (``contacts:read``, ``deals:write``).

The core declares its scopes through ``register_api_scopes`` like any plugin. A token holding
``<area>:write`` may also read that area. Scopes only narrow what a token can do: the token
still acts as its user, so the user's role permissions and record visibility apply as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from rapport.web.i18n import lazy

ACCESS = ("read", "write")


@dataclass(frozen=True)
class ApiScope:
    """A scope a token can be given: ``name`` is ``"<area>:read"`` or ``"<area>:write"``.

    ``description`` is shown on the token page (write it in English; it goes through the
    plugin's translations like any UI text).
    """

    name: str
    description: str

    def __post_init__(self) -> None:
        area, _, access = self.name.partition(":")
        if not area or access not in ACCESS:
            raise ValueError(f"API scope {self.name!r} must be '<area>:read' or '<area>:write'")

    @property
    def area(self) -> str:
        return self.name.partition(":")[0]

    @property
    def access(self) -> str:
        return self.name.partition(":")[2]


CORE_SCOPES = [
    ApiScope("contacts:read", lazy("Read contacts, companies, tags and custom fields")),
    ApiScope("contacts:write", lazy("Create, change and archive contacts and companies")),
    ApiScope("activities:read", lazy("Read timelines and tasks")),
    ApiScope("activities:write", lazy("Log activities and complete tasks")),
    ApiScope("users:read", lazy("Read the list of users")),
]


def available_scopes() -> list[ApiScope]:
    """The scopes of the core and the enabled plugins, by area, each name once."""
    from rapport.runtime import current

    found: dict[str, ApiScope] = {}
    for scope in current().plugins.collect("register_api_scopes"):
        if isinstance(scope, ApiScope):
            found.setdefault(scope.name, scope)
    return sorted(found.values(), key=lambda s: (s.area != "contacts", s.area, s.access))


def grants(granted: list[str] | set[str], needed: str) -> bool:
    """Whether a token with ``granted`` scopes may do what ``needed`` names."""
    if needed in granted:
        return True
    area, _, access = needed.partition(":")
    return access == "read" and f"{area}:write" in granted


def requires_scope(scope: str) -> Any:
    """A guard for API handlers: the request's token must hold ``scope`` (403 otherwise).

    ``@get("/deals", guards=[requires_scope("deals:read")])``. A ``write`` scope also grants
    ``read`` of the same area. Without a valid token the answer is 401.
    """
    ApiScope(scope, "")  # refuse a malformed name when the route is declared, not when called

    async def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        from rapport.rest.problems import ApiProblem

        token = connection.scope.get("api_token")
        if token is None:
            raise ApiProblem(401, "Authentication required", "send Authorization: Bearer <token>")
        if not grants(token["scopes"], scope):
            raise ApiProblem(
                403, "Missing scope", f"this token lacks the scope {scope}", kind="missing-scope"
            )

    guard.__name__ = f"requires_scope_{scope.replace(':', '_')}"
    return guard
