"""lead.received becomes one deal per event, where the event (or the admin) says."""

from __future__ import annotations

import pytest
from rapport.api import LeadReceived, create_contact, publish, transaction
from rapport.testing import make_user
from rapport_funnel.deals import get_deal
from rapport_funnel.leads import deal_for_lead, deals_for_leads
from rapport_funnel.pipelines import archive_stage, create_pipeline, stages_of
from rapport_funnel.tables import FunnelDeal, FunnelLeadIntake

pytestmark = pytest.mark.enable("funnel")


async def _user(email: str) -> int:
    return await make_user(email)


async def test_a_lead_becomes_a_deal_owned_by_the_contacts_owner(pipeline, captured_events):
    rep = await _user("rep@example.com")
    anna = await create_contact({"first_name": "Anna", "owner_id": rep})
    async with transaction():
        await publish(
            LeadReceived(
                contact_id=anna,
                title="Website request",
                source="web form",
                origin="webforms",
                utm={
                    "first": {"source": "google", "campaign": "winter"},
                    "last": {"source": "newsletter", "campaign": "spring", "medium": "email"},
                },
            )
        )
    rows = await FunnelDeal.select().where(FunnelDeal.contact_id == anna)
    assert len(rows) == 1
    deal = rows[0]
    assert (deal["title"], deal["owner_id"], deal["source"]) == ("Website request", rep, "web form")
    assert (deal["utm_source"], deal["utm_campaign"], deal["utm_medium"]) == (
        "newsletter",
        "spring",
        "email",
    )
    assert deal["stage_id"] == pipeline["stages"]["Qualification"]["id"]
    # A redelivery of the same outbox row finds the deal it made.
    event, meta = next((e, m) for e, m in captured_events if isinstance(e, LeadReceived))
    assert await deal_for_lead(event, meta) == deal["id"]
    assert await FunnelDeal.count().where(FunnelDeal.contact_id == anna) == 1


async def test_the_event_names_pipeline_and_stage_by_name_or_id(pipeline, captured_events):
    other = await create_pipeline("Repeat sales", [{"name": "Offer"}, {"name": "Invoice"}])
    invoice = (await stages_of(other))[1]
    anna = await create_contact({"first_name": "Anna"})
    async with transaction():
        await publish(LeadReceived(contact_id=anna, pipeline="repeat SALES", stage="Invoice"))
        await publish(LeadReceived(contact_id=anna, pipeline=str(other), stage=str(invoice["id"])))
        await publish(LeadReceived(contact_id=anna, pipeline="No such", stage="Nope"))
    rows = await FunnelDeal.select().where(FunnelDeal.contact_id == anna).order_by(FunnelDeal.id)
    assert [(r["pipeline_id"], r["stage_id"]) for r in rows] == [
        (other, invoice["id"]),
        (other, invoice["id"]),
        (pipeline["id"], pipeline["stages"]["Qualification"]["id"]),
    ]
    assert (await get_deal(rows[0]["id"]))["title"] == "Request from Anna"


async def test_a_failing_lead_leaves_the_others_made_once(pipeline, captured_events):
    # A pipeline whose only working stage is archived cannot take a deal: its lead fails.
    empty = await create_pipeline("Empty", [{"name": "Only"}])
    await archive_stage((await stages_of(empty))[0]["id"])
    anna = await create_contact({"first_name": "Anna"})
    boris = await create_contact({"first_name": "Boris"})
    carl = await create_contact({"first_name": "Carl"})
    async with transaction():
        await publish(LeadReceived(contact_id=anna, title="First"))
        await publish(LeadReceived(contact_id=boris, title="Broken", pipeline="Empty"))
        await publish(LeadReceived(contact_id=carl, title="Second"))
    titles = [r["title"] for r in await FunnelDeal.select().order_by(FunnelDeal.id)]
    assert titles == ["First", "Second"]
    # Handled again (a redelivery), one lead or several to a transaction: the same deals.
    leads = [(e, m) for e, m in captured_events if isinstance(e, LeadReceived)]
    good = [(e, m) for e, m in leads if e.title != "Broken"]
    first = await deals_for_leads(good)
    assert first == await deals_for_leads(good)
    assert await FunnelDeal.count() == 2
    assert await FunnelLeadIntake.count() == 2
    with pytest.raises(IndexError):
        await deals_for_leads([(e, m) for e, m in leads if e.title == "Broken"])
    assert await FunnelDeal.count() == 2
