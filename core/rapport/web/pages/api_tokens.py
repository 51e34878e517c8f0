"""The account's "API tokens" page: users create and revoke their own tokens.

A new token's secret is shown once, in the answer to the form that created it (marked
``Cache-Control: no-store``), never again: the database keeps only its hash.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.rest.scopes import ApiScope, available_scopes
from rapport.rest.tokens import TokenError, create_token, revoke_token, tokens_of
from rapport.web.i18n import gettext as _
from rapport.web.pages.admin_common import Form, text
from rapport.web.rendering import page

PATH = "/account/api-tokens"


@dataclass
class Area:
    """One line of the scope chooser: an area and the access levels it offers."""

    name: str
    label: str
    scopes: dict[str, ApiScope] = field(default_factory=dict)  # "read"/"write" → scope

    @property
    def choices(self) -> list[tuple[str, str]]:
        labels = {"read": _("Read"), "write": _("Read and write")}
        return [("", _("No access"))] + [
            (a, labels[a]) for a in ("read", "write") if a in self.scopes
        ]


def _areas() -> list[Area]:
    labels = {"contacts": _("Contacts"), "activities": _("Activities"), "users": _("Users")}
    areas: dict[str, Area] = {}
    for scope in available_scopes():
        area = areas.setdefault(
            scope.area,
            Area(scope.area, labels.get(scope.area, scope.area.replace("_", " ").title())),
        )
        area.scopes[scope.access] = scope
    return list(areas.values())


def _chosen_scopes(data: dict[str, Any], areas: list[Area]) -> tuple[list[str], dict[str, str]]:
    scopes: list[str] = []
    for area in areas:
        access = text(data, f"scope_{area.name}", 10)
        if access in area.scopes:
            scopes.append(area.scopes[access].name)
    return scopes, {area.name: text(data, f"scope_{area.name}", 10) for area in areas}


def _expiry(value: str) -> dt.datetime | None:
    """The end (UTC) of the chosen day, or None for a token that does not expire."""
    if not value:
        return None
    day = dt.date.fromisoformat(value)
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)


def _messages(errors: dict[str, str]) -> dict[str, str]:
    """The service's English reasons, said in the user's language."""
    texts = {
        "name": _("Give the token a name (at most 100 characters)."),
        "scopes": _("Choose the access the token gets for at least one area."),
        "expires_at": _("Choose a day in the future, or leave it empty."),
    }
    return {key: texts.get(key, message) for key, message in errors.items()}


async def _page(request: Request, status_code: int = 200, **context: Any) -> Template:
    user = request.scope["user"]  # type: ignore[typeddict-item]
    base: dict[str, Any] = {
        "tokens": await tokens_of(user["id"]),
        "areas": _areas(),
        "values": {"name": "", "expires_on": "", "access": {}},
        "errors": {},
        "new_token": None,
        "revoked": False,
        "now": dt.datetime.now(dt.UTC),
    }
    response = await page(request, "account/api_tokens.html", status_code, **(base | context))
    response.headers["Cache-Control"] = "no-store"
    return response


@get(PATH, name="account:api-tokens")
async def tokens_page(request: Request, revoked: FromQuery[bool] = False) -> Template:
    return await _page(request, revoked=revoked)


@post(PATH)
async def create_token_form(request: Request, data: Form) -> Template:
    user = request.scope["user"]  # type: ignore[typeddict-item]
    areas = _areas()
    scopes, access = _chosen_scopes(data, areas)
    name = text(data, "name", 200)
    expires_on = text(data, "expires_on", 20)
    values = {"name": name, "expires_on": expires_on, "access": access}
    try:
        expires_at = _expiry(expires_on)
    except ValueError:
        return await _page(
            request, 400, values=values, errors={"expires_at": _("This is not a date.")}
        )
    try:
        created = await create_token(user["id"], name, scopes, expires_at=expires_at)
    except TokenError as exc:
        return await _page(request, 400, values=values, errors=_messages(exc.errors))
    return await _page(
        request, 201, new_token={"id": created.id, "secret": created.secret, "name": name}
    )


@post(PATH + "/{token_id:int}/revoke")
async def revoke_token_form(request: Request, token_id: FromPath[int], data: Form) -> Redirect:
    user = request.scope["user"]  # type: ignore[typeddict-item]
    await revoke_token(user["id"], token_id)  # someone else's token: nothing happens
    return Redirect(f"{PATH}?revoked=1")


ROUTES = [tokens_page, create_token_form, revoke_token_form]
