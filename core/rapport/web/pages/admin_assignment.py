"""Admin: assignment rules — create, edit, reorder, switch off, delete."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rapport.assignment.service import RULE_KINDS, TERRITORY_FIELDS, rules_in_order
from rapport.assignment.tables import AssignmentRule
from rapport.db.transaction import transaction
from rapport.users.tables import User
from rapport.web.i18n import gettext as _
from rapport.web.pages.admin_common import SETTINGS, Form, admin_page, guarded, many, text

USER_CHOICES_LIMIT = 1000


def kind_labels() -> dict[str, str]:
    return {
        "round_robin": _("Round robin within a group"),
        "territory": _("By territory"),
        "source": _("By source"),
        "fallback": _("Fallback user"),
    }


def field_labels() -> dict[str, str]:
    return {"region": _("Region"), "city": _("City"), "country": _("Country")}


async def _users() -> list[dict[str, Any]]:
    """Active users to pick from, by name."""
    return (
        await User.select(User.id, User.name, User.email, User.away)
        .where(User.is_active.eq(True))
        .order_by(User.name)
        .limit(USER_CHOICES_LIMIT)
    )


def _blank() -> dict[str, Any]:
    return {
        "name": "",
        "kind": "round_robin",
        "match_field": "city",
        "match_values": [],
        "user_ids": [],
        "target_user": None,
        "active": True,
    }


async def _context(**context: Any) -> dict[str, Any]:
    return {
        "kinds": kind_labels(),
        "fields": field_labels(),
        "users": await _users(),
        **context,
    }


def _values(data: dict[str, Any]) -> dict[str, Any]:
    raw_values = text(data, "match_values", 4000).replace(",", "\n")
    target = text(data, "target_user", 20)
    return {
        "name": text(data, "name", 150),
        "kind": text(data, "kind", 20),
        "match_field": text(data, "match_field", 20),
        "match_values": [v.strip() for v in raw_values.splitlines() if v.strip()],
        "user_ids": [int(v) for v in many(data, "user_ids") if v.isdigit()],
        "target_user": int(target) if target.isdigit() else None,
        "active": text(data, "active") == "on",
    }


async def _check(values: dict[str, Any]) -> dict[str, str]:
    """Every problem at once, each for its field."""
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = _("Give the rule a name.")
    kind = values["kind"]
    if kind not in RULE_KINDS:
        errors["kind"] = _("Pick one of the kinds.")
        return errors
    known = {u["id"] for u in await _users()}
    if kind == "round_robin":
        values["user_ids"] = [u for u in values["user_ids"] if u in known]
        if not values["user_ids"]:
            errors["user_ids"] = _("Pick at least one user for the round robin.")
        values["target_user"] = None
    else:
        if values["target_user"] not in known:
            errors["target_user"] = _("Pick the user who gets the contacts.")
        values["user_ids"] = []
    if kind == "territory" and values["match_field"] not in TERRITORY_FIELDS:
        errors["match_field"] = _("Pick region, city or country.")
    if kind in ("territory", "source") and not values["match_values"]:
        errors["match_values"] = _("Enter at least one value, one per line.")
    if kind == "territory" and values["match_field"] == "country":
        values["match_values"] = [v.upper() for v in values["match_values"]]
    if kind not in ("territory", "source"):
        values["match_values"] = []
    if kind != "territory":
        values["match_field"] = ""
    return errors


def _columns(values: dict[str, Any]) -> dict[Any, Any]:
    return {
        AssignmentRule.name: values["name"],
        AssignmentRule.kind: values["kind"],
        AssignmentRule.match_field: values["match_field"],
        AssignmentRule.match_values: json.dumps(values["match_values"]),
        AssignmentRule.user_ids: json.dumps(values["user_ids"]),
        AssignmentRule.target_user: values["target_user"],
        AssignmentRule.active: values["active"],
    }


async def _list_page(request: Request, status_code: int = 200, **context: Any) -> Template:
    rules = await rules_in_order()
    names = {u["id"]: u["name"] for u in await _users()}
    context.setdefault("values", _blank())
    context.setdefault("errors", {})
    return await admin_page(
        request,
        "admin/assignment.html",
        "assignment",
        status_code=status_code,
        rules=rules,
        names=names,
        **await _context(**context),
    )


@get("/admin/assignment", name="admin-assignment", **guarded(SETTINGS))
async def rules_page(request: Request, saved: FromQuery[str | None] = None) -> Template:
    return await _list_page(request, saved=saved)


@post("/admin/assignment", **guarded(SETTINGS))
async def create_rule(request: Request, data: Form) -> Template | Redirect:
    values = _values(data)
    errors = await _check(values)
    if errors:
        return await _list_page(request, 400, values=values, errors=errors)
    async with transaction():
        last = (
            await AssignmentRule.select(AssignmentRule.position)
            .order_by(AssignmentRule.position, ascending=False)
            .first()
        )
        columns = _columns(values)
        row = AssignmentRule(
            **{column._meta.name: value for column, value in columns.items()},
            position=(last["position"] + 10) if last else 10,
        )
        await AssignmentRule.insert(row)
    return Redirect("/admin/assignment?saved=1")


async def _rule_or_404(rule_id: int) -> dict[str, Any]:
    for rule in await rules_in_order():
        if rule["id"] == rule_id:
            return rule
    raise NotFoundException()


@get("/admin/assignment/{rule_id:int}", name="admin-assignment-rule", **guarded(SETTINGS))
async def edit_rule_page(request: Request, rule_id: FromPath[int]) -> Template:
    rule = await _rule_or_404(rule_id)
    return await admin_page(
        request,
        "admin/assignment_edit.html",
        "assignment",
        rule=rule,
        **await _context(values=rule, errors={}),
    )


@post("/admin/assignment/{rule_id:int}", **guarded(SETTINGS))
async def save_rule(request: Request, rule_id: FromPath[int], data: Form) -> Template | Redirect:
    rule = await _rule_or_404(rule_id)
    values = _values(data)
    errors = await _check(values)
    if errors:
        return await admin_page(
            request,
            "admin/assignment_edit.html",
            "assignment",
            status_code=400,
            rule=rule,
            **await _context(values=values, errors=errors),
        )
    await AssignmentRule.update(_columns(values)).where(AssignmentRule.id == rule_id)
    return Redirect("/admin/assignment?saved=1")


@post("/admin/assignment/{rule_id:int}/move", **guarded(SETTINGS))
async def move_rule(rule_id: FromPath[int], data: Form) -> Redirect:
    """Swap the rule with its neighbour above (``direction=up``) or below; positions are
    renumbered 10, 20, 30… so the order stays unambiguous."""
    async with transaction():
        ids = [r["id"] for r in await rules_in_order()]
        if rule_id not in ids:
            raise NotFoundException()
        at = ids.index(rule_id)
        to = at - 1 if text(data, "direction") == "up" else at + 1
        if 0 <= to < len(ids):
            ids[at], ids[to] = ids[to], ids[at]
        for position, each in enumerate(ids, start=1):
            await AssignmentRule.update({AssignmentRule.position: position * 10}).where(
                AssignmentRule.id == each
            )
    return Redirect("/admin/assignment")


@post("/admin/assignment/{rule_id:int}/delete", **guarded(SETTINGS))
async def delete_rule(rule_id: FromPath[int]) -> Redirect:
    await AssignmentRule.delete().where(AssignmentRule.id == rule_id)
    return Redirect("/admin/assignment")


ROUTES = [rules_page, create_rule, edit_rule_page, save_rule, move_rule, delete_rule]
