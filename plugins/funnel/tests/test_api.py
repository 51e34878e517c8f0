"""The funnel's REST resources: pipelines and deals, keyset pages, create, move, errors,
scopes and record visibility."""

from __future__ import annotations

import pytest
from rapport.api import create_contact

pytestmark = pytest.mark.enable("funnel")


async def test_pipelines_are_listed_with_their_stages(api_client, pipeline):
    client = await api_client.new(scopes=["deals:read"])
    response = await client.get("/api/v1/funnel/pipelines")
    assert response.status_code == 200
    body = response.json()
    assert [p["name"] for p in body["data"]] == ["New clients"]
    stages = body["data"][0]["stages"]
    assert [s["name"] for s in stages][-2:] == ["Won", "Lost"]
    assert stages[0]["probability"] == 10 and body["next_cursor"] is None
    one = await client.get(f"/api/v1/funnel/pipelines/{pipeline['id']}")
    assert one.json()["stages"] == stages
    missing = await client.get("/api/v1/funnel/pipelines/999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_deals_are_created_moved_and_paged_by_keyset(api_client, pipeline):
    client = await api_client.new(scopes=["deals:write"])
    anna = await create_contact({"first_name": "Anna"})
    ids = []
    for n in range(3):
        created = await client.post("/api/v1/funnel/deals", json={
            "title": f"Deal {n}", "pipeline_id": pipeline["id"], "contact_id": anna,
            "amount": "1250.50", "source": "api",
        })
        assert created.status_code == 201, created.text
        deal = created.json()
        assert (deal["amount_minor"], deal["status"], deal["owner_id"]) == (
            125050, "open", client.user["id"]
        )
        ids.append(deal["id"])
    first = await client.get("/api/v1/funnel/deals", params={"limit": 2})
    assert [d["id"] for d in first.json()["data"]] == ids[:2]
    second = await client.get("/api/v1/funnel/deals",
                              params={"limit": 2, "cursor": first.json()["next_cursor"]})
    assert [d["id"] for d in second.json()["data"]] == ids[2:]
    assert second.json()["next_cursor"] is None

    won = pipeline["stages"]["Won"]["id"]
    moved = await client.post(f"/api/v1/funnel/deals/{ids[0]}/move", json={"stage_id": won})
    assert moved.status_code == 200 and moved.json()["status"] == "won"
    open_only = await client.get("/api/v1/funnel/deals", params={"status": "open"})
    assert [d["id"] for d in open_only.json()["data"]] == ids[1:]


async def test_bad_input_answers_422_with_the_fields(api_client, pipeline):
    client = await api_client.new(scopes=["deals:write"])
    bad = await client.post("/api/v1/funnel/deals", json={
        "title": "", "pipeline_id": pipeline["id"], "amount": "lots",
    })
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"title", "amount"}
    created = await client.post("/api/v1/funnel/deals",
                                json={"title": "Deal", "pipeline_id": pipeline["id"]})
    lost = pipeline["stages"]["Lost"]["id"]
    refused = await client.post(f"/api/v1/funnel/deals/{created.json()['id']}/move",
                                json={"stage_id": lost})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "lost_reason_id"


async def test_a_read_scope_cannot_write_and_unknown_deals_are_404(api_client, pipeline):
    reader = await api_client.new(scopes=["deals:read"])
    refused = await reader.post("/api/v1/funnel/deals",
                                json={"title": "Deal", "pipeline_id": pipeline["id"]})
    assert refused.status_code == 403
    assert (await reader.get("/api/v1/funnel/deals/4242")).status_code == 404
    other = await api_client.new(scopes=["contacts:read"])
    assert (await other.get("/api/v1/funnel/deals")).status_code == 403
    bad = await reader.get("/api/v1/funnel/deals", params={"cursor": "nonsense"})
    assert bad.status_code == 400
    wrong = await reader.get("/api/v1/funnel/deals", params={"status": "maybe"})
    assert wrong.status_code == 400 and wrong.json()["errors"]
