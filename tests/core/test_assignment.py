"""Assignment rules: round robin (fair, away users skipped, safe when submissions race),
territory, source and fallback rules, the decision on the timeline."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from rapport.api import (
    assign_owner,
    choose_owner,
    create_contact,
    timeline,
    transaction,
)
from rapport.assignment.tables import AssignmentRule
from rapport.users.accounts import create_user
from rapport.users.tables import User


async def _users(*names: str) -> list[int]:
    ids = []
    for name in names:
        user = await create_user(f"{name.lower()}@example.com", name, "password-123", "staff")
        ids.append(user["id"])
    return ids


async def _rule(position: int, name: str, kind: str, **columns) -> int:
    values = {
        "match_values": json.dumps(columns.pop("match_values", [])),
        "user_ids": json.dumps(columns.pop("user_ids", [])),
        **columns,
    }
    rows = await AssignmentRule.insert(
        AssignmentRule(position=position, name=name, kind=kind, **values)
    ).returning(AssignmentRule.id)
    return rows[0]["id"]


async def test_round_robin_takes_turns_and_skips_away_users(rapport):
    anna, boris, vera = await _users("Anna", "Boris", "Vera")
    await _rule(10, "Sales team", "round_robin", user_ids=[anna, boris, vera])
    picks = [(await choose_owner({})).user_id for _ in range(6)]
    assert picks == [anna, boris, vera, anna, boris, vera]

    await User.update({User.away: True}).where(User.id == boris)
    picks = [(await choose_owner({})).user_id for _ in range(4)]
    assert boris not in picks
    assert Counter(picks) == {anna: 2, vera: 2}
    decision = await choose_owner({})
    assert decision.rule_name == "Sales team" and "2 of 3 users present" in decision.reason


async def test_simultaneous_submissions_get_different_users(rapport):
    team = await _users("Gleb", "Dina", "Egor", "Zoya")
    await _rule(10, "Team", "round_robin", user_ids=team)

    async def one_submission() -> int:
        async with transaction():  # like the intake: the turn is taken in its transaction
            decision = await choose_owner({})
            await asyncio.sleep(0)  # let the others run in between
            return decision.user_id

    picks = await asyncio.gather(*[one_submission() for _ in range(20)])
    # 20 tickets, 4 users: exactly 5 each, whichever order the transactions committed in.
    assert Counter(picks) == dict.fromkeys(team, 5)
    counter = await AssignmentRule.select(AssignmentRule.counter).first()
    assert counter["counter"] == 20


async def test_a_rolled_back_submission_gives_its_turn_back(rapport):
    anna, boris = await _users("Anna", "Boris")
    await _rule(10, "Pair", "round_robin", user_ids=[anna, boris])

    class Refused(Exception):
        pass

    try:
        async with transaction():
            assert (await choose_owner({})).user_id == anna
            raise Refused
    except Refused:
        pass
    assert (await choose_owner({})).user_id == anna


async def test_territory_source_and_fallback_first_match_wins(rapport):
    kazan_rep, moscow_rep, web_rep, boss = await _users("Kazan", "Moscow", "Web", "Boss")
    await _rule(
        10,
        "Tatarstan",
        "territory",
        match_field="city",
        match_values=["Kazan"],
        target_user=kazan_rep,
    )
    await _rule(
        20,
        "Capital",
        "territory",
        match_field="region",
        match_values=["Moscow"],
        target_user=moscow_rep,
    )
    await _rule(30, "Site leads", "source", match_values=["website"], target_user=web_rep)
    await _rule(40, "Everyone else", "fallback", target_user=boss)

    kazan = await choose_owner({"city": "  kazan ", "source": "website"})
    assert (kazan.user_id, kazan.rule_name, kazan.reason) == (
        kazan_rep,
        "Tatarstan",
        "city = kazan",
    )
    assert (await choose_owner({"region": "MOSCOW"})).user_id == moscow_rep
    assert (await choose_owner({"city": "Omsk", "source": "Website"})).user_id == web_rep
    fallback = await choose_owner({"city": "Omsk"})
    assert (fallback.user_id, fallback.reason) == (boss, "fallback")

    # The Kazan rep is on holiday: their territory falls through, and the record says why.
    await User.update({User.away: True}).where(User.id == kazan_rep)
    decision = await choose_owner({"city": "Kazan"})
    assert decision.user_id == boss
    assert decision.passed_over == ("Tatarstan: the user is away or inactive",)


async def test_a_named_rule_is_tried_first_and_no_rule_means_no_owner(rapport):
    assert await choose_owner({"city": "Kazan"}) is None
    first, second = await _users("First", "Second")
    await _rule(10, "Default", "fallback", target_user=first)
    special = await _rule(20, "Partners", "fallback", target_user=second)
    assert (await choose_owner({})).user_id == first
    assert (await choose_owner({}, rule_id=special)).user_id == second
    await AssignmentRule.update({AssignmentRule.active: False}).where(AssignmentRule.id == special)
    assert (await choose_owner({}, rule_id=special)).user_id == first


async def test_assign_owner_sets_the_owner_and_writes_the_decision_on_the_timeline(rapport):
    (rep,) = await _users("Rita")
    await _rule(
        10, "Volga", "territory", match_field="city", match_values=["Samara"], target_user=rep
    )
    contact = await create_contact({"name": "Ivan Petrov", "city": "Samara"})
    decision = await assign_owner(contact)
    assert decision.user_id == rep
    from rapport.api import get_contact

    assert (await get_contact(contact))["owner"] == rep
    entries = await timeline(contact)
    assignment = [e for e in entries if e["kind"] == "assignment"]
    assert len(assignment) == 1
    assert "Rita" in assignment[0]["body"] and "Volga" in assignment[0]["body"]
    assert assignment[0]["payload"]["reason"] == "city = Samara"
