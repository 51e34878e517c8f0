"""Choosing the owner of a new contact or lead by the administrators' rules.

Rules are tried in their order (``position``, then id); the first that names an available
user wins. A user is available when active and not marked away. The decision — which rule,
why, and which rules were passed over — is written on the contact's timeline as an
``assignment`` activity.

Round robin and concurrency: the rule's ``counter`` is incremented with one
``UPDATE … SET counter = counter + 1 … RETURNING counter`` inside the caller's write
transaction. On PostgreSQL the row lock makes a second, simultaneous transaction wait for the
first and then read its new value; on SQLite the write transaction is ``BEGIN IMMEDIATE``, so
writers are serialised before they read anything. Either way two submissions arriving together
get two different tickets and so two different users, and a transaction that rolls back (a
submission refused later) gives its ticket back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rapport.assignment.tables import AssignmentRule
from rapport.db.transaction import transaction
from rapport.users.tables import User

RULE_KINDS = ("round_robin", "territory", "source", "fallback")
TERRITORY_FIELDS = ("region", "city", "country")


@dataclass(frozen=True)
class Assignment:
    """The owner chosen for a contact, and why."""

    user_id: int
    user_name: str
    rule_id: int
    rule_name: str
    kind: str
    reason: str  # what matched: "city = Kazan", "turn 7 of 3 users", "fallback"
    passed_over: tuple[str, ...] = field(default=())  # rules that matched but had nobody

    def payload(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "rule_kind": self.kind,
            "reason": self.reason,
            "passed_over": list(self.passed_over),
        }


def _load(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return list(value or [])


async def rules_in_order(active_only: bool = False) -> list[dict[str, Any]]:
    """The assignment rules in the order they are tried, as dicts (``id``, ``name``,
    ``kind``, ``match_field``, ``match_values``, ``user_ids``, ``target_user``, ``counter``,
    ``active``, ``position``)."""
    query = AssignmentRule.select().order_by(AssignmentRule.position).order_by(AssignmentRule.id)
    if active_only:
        query = query.where(AssignmentRule.active.eq(True))
    rows = await query
    for row in rows:
        row["match_values"] = [str(v) for v in _load(row["match_values"])]
        row["user_ids"] = [int(v) for v in _load(row["user_ids"])]
    return rows


async def add_assignment_rule(
    name: str,
    kind: str,
    *,
    user_ids: list[int] | tuple[int, ...] = (),
    target_user: int | None = None,
    match_field: str = "",
    match_values: list[str] | tuple[str, ...] = (),
    active: bool = True,
) -> int:
    """Append a rule at the end of the order and return its id (a preset seeding its rules,
    a test). ``kind`` is one of ``round_robin`` (``user_ids``), ``territory``
    (``match_field`` region/city/country, ``match_values``, ``target_user``), ``source``
    (``match_values``, ``target_user``) or ``fallback`` (``target_user``)."""
    if kind not in RULE_KINDS:
        raise ValueError(f"unknown rule kind {kind!r}")
    if kind == "territory" and match_field not in TERRITORY_FIELDS:
        raise ValueError("a territory rule compares region, city or country")
    async with transaction():
        last = (
            await AssignmentRule.select(AssignmentRule.position)
            .order_by(AssignmentRule.position, ascending=False)
            .first()
        )
        rows = await AssignmentRule.insert(
            AssignmentRule(
                position=(last["position"] + 10) if last else 10,
                name=name,
                kind=kind,
                match_field=match_field,
                match_values=json.dumps(list(match_values)),
                user_ids=json.dumps(list(user_ids)),
                target_user=target_user,
                active=active,
            )
        ).returning(AssignmentRule.id)
    return rows[0]["id"]


async def _available(user_ids: set[int]) -> dict[int, str]:
    """Active users not marked away, of those named: id → name (one query)."""
    if not user_ids:
        return {}
    rows = await User.select(User.id, User.name).where(
        User.id.is_in(sorted(user_ids)) & User.is_active.eq(True) & User.away.eq(False)
    )
    return {r["id"]: r["name"] for r in rows}


def _matches(rule: dict[str, Any], facts: Mapping[str, Any]) -> str | None:
    """Why a territory or source rule applies to these facts, or None."""
    wanted = {v.strip().casefold() for v in rule["match_values"] if v.strip()}
    key = rule["match_field"] if rule["kind"] == "territory" else "source"
    if rule["kind"] == "territory" and key not in TERRITORY_FIELDS:
        return None
    value = str(facts.get(key) or "").strip()
    if value and value.casefold() in wanted:
        return f"{key} = {value}"
    return None


async def _next_turn(rule_id: int) -> int:
    rows = (
        await AssignmentRule.update({AssignmentRule.counter: AssignmentRule.counter + 1})
        .where(AssignmentRule.id == rule_id)
        .returning(AssignmentRule.counter)
    )
    return int(rows[0]["counter"])


async def choose_owner(
    facts: Mapping[str, Any], *, rule_id: int | None = None
) -> Assignment | None:
    """The owner the rules give a contact described by ``facts``, or None if no rule does.

    ``facts`` holds the contact's ``region``, ``city``, ``country`` and ``source`` (missing
    keys count as empty). ``rule_id`` names a rule to try before the ordered list (a web form
    routed by its own rule); when it gives nobody, the list is tried as usual. Runs in the
    caller's transaction (or its own): a round-robin turn is taken only if it commits.
    """
    async with transaction():
        rules = await rules_in_order(active_only=True)
        if rule_id is not None:
            rules.sort(key=lambda r: r["id"] != rule_id)  # stable: the rest keep their order
        wanted: set[int] = set()
        for rule in rules:
            wanted.update(rule["user_ids"])
            if rule["target_user"]:
                wanted.add(rule["target_user"])
        available = await _available(wanted)
        passed_over: list[str] = []
        for rule in rules:
            if rule["kind"] == "round_robin":
                present = [u for u in rule["user_ids"] if u in available]
                if not present:
                    if rule["user_ids"]:
                        passed_over.append(f"{rule['name']}: everyone away")
                    continue
                turn = await _next_turn(rule["id"])
                user = present[(turn - 1) % len(present)]
                reason = f"turn {turn}, {len(present)} of {len(rule['user_ids'])} users present"
            else:
                if rule["kind"] == "fallback":
                    reason = "fallback"
                else:
                    matched = _matches(rule, facts)
                    if matched is None:
                        continue
                    reason = matched
                user = rule["target_user"]
                if user not in available:
                    passed_over.append(f"{rule['name']}: the user is away or inactive")
                    continue
            return Assignment(
                user_id=user,
                user_name=available[user],
                rule_id=rule["id"],
                rule_name=rule["name"],
                kind=rule["kind"],
                reason=reason,
                passed_over=tuple(passed_over),
            )
    return None


async def record_assignment(
    contact_id: int, assignment: Assignment, *, actor_id: int | None = None
) -> int:
    """Put the decision on the contact's timeline (an ``assignment`` activity); its id."""
    from rapport.activities.service import log_activity

    body = f"{assignment.user_name} · {assignment.rule_name} ({assignment.reason})"
    if assignment.passed_over:
        body += " · " + "; ".join(assignment.passed_over)
    return await log_activity(
        contact_id, "assignment", body=body, payload=assignment.payload(), author_id=actor_id
    )


async def assign_owner(
    contact_id: int, *, rule_id: int | None = None, actor_id: int | None = None
) -> Assignment | None:
    """Give an existing contact the owner the rules choose, and record why.

    Reads the contact's region, city, country and source, chooses (:func:`choose_owner`),
    sets the owner (publishing ``contact.updated``) and logs the decision, all in one
    transaction. Returns the decision, or None when no rule names anybody (the contact is
    left as it is).
    """
    from rapport.contacts.service import get_contact, update_contact

    async with transaction():
        contact = await get_contact(contact_id)
        decision = await choose_owner(contact, rule_id=rule_id)
        if decision is None:
            return None
        if contact["owner"] != decision.user_id:
            await update_contact(contact_id, {"owner_id": decision.user_id}, actor_id=actor_id)
        await record_assignment(contact_id, decision, actor_id=actor_id)
    return decision
