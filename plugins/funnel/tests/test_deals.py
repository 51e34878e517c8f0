"""Deals: creation, moves with history, events in the same transaction, lost reasons,
follow-up tasks, re-opening, assignment and merge."""

from __future__ import annotations

import datetime as dt

import pytest
from rapport.api import (
    create_contact,
    merge_contacts,
    open_tasks_of_subjects,
    subject_activities,
    timeline,
)
from rapport.testing import make_user
from rapport_funnel.deals import (
    assign_deal,
    create_deal,
    get_deal,
    history_of,
    move_deal,
)
from rapport_funnel.errors import FunnelError
from rapport_funnel.events import DealAssigned, DealCreated, DealLost, DealStageChanged, DealWon
from rapport_funnel.lost_reasons import list_reasons

pytestmark = pytest.mark.enable("funnel")


async def _user(email: str) -> int:
    return await make_user(email)


async def test_enabling_seeds_a_pipeline_ending_in_won_and_lost(pipeline):
    names = list(pipeline["stages"])
    assert names == ["Qualification", "Needs analysis", "Proposal", "Negotiation", "Won", "Lost"]
    assert pipeline["stages"]["Proposal"]["probability"] == 50
    assert pipeline["stages"]["Won"]["semantic"] == "won"
    assert len(await list_reasons()) == 6


async def test_enabling_again_seeds_nothing_twice(rapport, pipeline):
    from rapport_funnel.pipelines import list_pipelines
    from rapport_funnel.seed import seed_defaults

    await seed_defaults()
    assert len(await list_pipelines()) == 1
    assert len(await list_reasons()) == 6


async def test_a_deal_is_created_with_history_timeline_and_event(pipeline, captured_events):
    owner = await _user("olga@example.com")
    anna = await create_contact({"first_name": "Anna", "emails": ["anna@example.com"],
                                 "owner_id": owner})
    deal_id = await create_deal(
        {"title": "Ten licences", "contact_id": anna, "pipeline_id": pipeline["id"],
         "amount": "12 500,50", "source": "website", "utm_campaign": "spring"}
    )
    deal = await get_deal(deal_id)
    assert deal["owner_id"] == owner  # the contact's owner
    assert deal["amount_minor"] == 1250050
    assert deal["stage_id"] == pipeline["stages"]["Qualification"]["id"]
    assert deal["currency"] == "RUB"
    history = await history_of(deal_id)
    assert [(h["from_stage_id"], h["to_name"]) for h in history] == [(None, "Qualification")]
    created = [e for e, _ in captured_events if isinstance(e, DealCreated)]
    assert created and created[0].deal_id == deal_id and created[0].amount_minor == 1250050
    entries = await timeline(anna)
    assert any(e["kind"] == "deal" and "Ten licences" in e["body"] for e in entries)
    # Qualification has a follow-up of one day: the owner got a task linked to the deal.
    tasks = await open_tasks_of_subjects("deal", [deal_id])
    assert tasks[str(deal_id)][0]["assignee"] == owner


async def test_moves_close_the_history_row_and_publish(pipeline, captured_events):
    anna = await create_contact({"first_name": "Anna"})
    start = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    deal_id = await create_deal(
        {"title": "Deal", "contact_id": anna, "pipeline_id": pipeline["id"]}, at=start
    )
    proposal = pipeline["stages"]["Proposal"]["id"]
    assert await move_deal(deal_id, proposal, at=start + dt.timedelta(days=2))
    assert not await move_deal(deal_id, proposal)  # already there
    assert await move_deal(deal_id, pipeline["stages"]["Won"]["id"],
                           at=start + dt.timedelta(days=5))
    history = await history_of(deal_id)
    assert [h["to_name"] for h in history] == ["Qualification", "Proposal", "Won"]
    assert [h["seconds_in_stage"] for h in history] == [2 * 86400, 3 * 86400, None]
    deal = await get_deal(deal_id)
    assert deal["status"] == "won" and deal["closed_at"] == start + dt.timedelta(days=5)
    moved = [e for e, _ in captured_events if isinstance(e, DealStageChanged)]
    assert [(m.from_stage_id, m.to_stage_id) for m in moved][-1] == (
        proposal, pipeline["stages"]["Won"]["id"]
    )
    assert any(isinstance(e, DealWon) for e, _ in captured_events)


async def test_losing_needs_a_reason_and_reopening_clears_it(pipeline, captured_events):
    deal_id = await create_deal({"title": "Deal", "pipeline_id": pipeline["id"]})
    lost = pipeline["stages"]["Lost"]["id"]
    with pytest.raises(FunnelError) as refused:
        await move_deal(deal_id, lost)
    assert "lost_reason_id" in refused.value.errors
    assert (await get_deal(deal_id))["status"] == "open"  # nothing half done
    reason = (await list_reasons())[0]
    await move_deal(deal_id, lost, lost_reason_id=reason["id"], lost_comment="Too dear")
    deal = await get_deal(deal_id)
    assert (deal["status"], deal["lost_reason_id"], deal["lost_comment"]) == (
        "lost", reason["id"], "Too dear"
    )
    events = [e for e, _ in captured_events if isinstance(e, DealLost)]
    assert events[0].reason == reason["name"] and events[0].comment == "Too dear"
    await move_deal(deal_id, pipeline["stages"]["Proposal"]["id"])
    deal = await get_deal(deal_id)
    assert (deal["status"], deal["closed_at"], deal["lost_reason_id"]) == ("open", None, None)


async def test_a_stage_of_another_pipeline_is_refused(pipeline):
    from rapport_funnel.pipelines import create_pipeline, stages_of

    other = await create_pipeline("Repeat sales", [{"name": "Offer", "probability": 40}])
    foreign = (await stages_of(other))[0]["id"]
    deal_id = await create_deal({"title": "Deal", "pipeline_id": pipeline["id"]})
    with pytest.raises(FunnelError):
        await move_deal(deal_id, foreign)


async def test_bad_input_is_reported_per_field(pipeline):
    with pytest.raises(FunnelError) as refused:
        await create_deal({"title": " ", "pipeline_id": pipeline["id"], "amount": "lots",
                           "expected_close": "tomorrow"})
    assert set(refused.value.errors) == {"title", "amount", "expected_close"}


async def test_assigning_publishes_deal_assigned(pipeline, captured_events):
    first, second = await _user("a1@example.com"), await _user("a2@example.com")
    deal_id = await create_deal({"title": "Deal", "pipeline_id": pipeline["id"],
                                 "owner_id": first})
    await assign_deal(deal_id, second)
    event = next(e for e, _ in captured_events if isinstance(e, DealAssigned))
    assert (event.from_owner_id, event.to_owner_id) == (first, second)


async def test_merging_contacts_moves_their_deals(pipeline):
    anna = await create_contact({"first_name": "Anna", "emails": ["anna@example.com"]})
    twin = await create_contact({"first_name": "Anna", "emails": ["anna2@example.com"]})
    deal_id = await create_deal({"title": "Deal", "contact_id": twin,
                                 "pipeline_id": pipeline["id"]})
    await merge_contacts(anna, twin)
    assert (await get_deal(deal_id))["contact_id"] == anna


async def test_deal_activities_are_linked_to_the_deal(pipeline):
    anna = await create_contact({"first_name": "Anna"})
    deal_id = await create_deal({"title": "Deal", "contact_id": anna,
                                 "pipeline_id": pipeline["id"]})
    from rapport.api import log_activity

    await log_activity(anna, "call", body="Talked prices", subject_type="deal",
                       subject_id=str(deal_id))
    bodies = [a["body"] for a in await subject_activities("deal", deal_id)]
    assert "Talked prices" in bodies
    assert "Talked prices" in [a["body"] for a in await timeline(anna)]
