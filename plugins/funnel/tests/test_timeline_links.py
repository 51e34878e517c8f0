"""A deal's entries on the contact's timeline link to the deal page."""

from __future__ import annotations

from rapport.api import create_contact, running
from rapport.testing import app_client, enable_plugin, make_user, sign_in

PASSWORD = "test-pass-word-1"


async def test_deal_entries_on_the_timeline_link_to_the_deal(rapport_settings):
    from rapport_funnel.deals import create_deal
    from rapport_funnel.pipelines import default_pipeline

    async with running(rapport_settings):
        await enable_plugin("funnel")
        rep = await make_user("rep@example.com", "Rita Rep", language="ru")
        anna = await create_contact({"first_name": "Anna", "owner_id": rep})
        pipeline = await default_pipeline()
        deal = await create_deal(
            {"title": "Ten <licences>", "contact_id": anna, "pipeline_id": pipeline["id"]}
        )
    async with app_client(rapport_settings) as client:
        await sign_in(client, "rep@example.com", PASSWORD)
        card = (await client.get(f"/contacts/{anna}")).text
        link = f'<a class="activity-subject" href="/funnel/deals/{deal}">'
        assert link + "Сделка: Ten &lt;licences&gt;</a>" in card  # translated, escaped
        client.run(_disable_funnel)
        assert link not in (await client.get(f"/contacts/{anna}")).text


async def _disable_funnel() -> None:
    from rapport.plugins import state

    await state.disable("funnel")
