"""Timelines, tasks, tags, custom fields and users through the API."""

import datetime as dt

from rapport.api import create_contact, log_activity
from rapport.contacts.custom_fields import CustomField
from rapport.contacts.custom_fields_store import declare_fields


async def test_timeline_pages_and_logging(rapport, api_client):
    client = await api_client.new()
    anna = await create_contact({"first_name": "Anna"})
    base = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    for hour in range(5):
        await log_activity(
            anna, "note", body=f"n{hour}", occurred_at=base + dt.timedelta(hours=hour)
        )

    logged = await client.post(
        f"/api/v1/contacts/{anna}/activities",
        json={"kind": "call", "body": "Called", "payload": {"duration": 65}},
    )
    assert logged.status_code == 201
    call = logged.json()
    assert call["kind"] == "call" and call["author_id"] == client.user["id"]
    assert (await client.get(logged.headers["location"])).json() == call

    bodies, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"/api/v1/contacts/{anna}/activities", params=params)).json()
        bodies += [a["body"] for a in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert bodies == ["Called", "n4", "n3", "n2", "n1", "n0"]

    bad_payload = await client.post(
        f"/api/v1/contacts/{anna}/activities", json={"kind": "call", "payload": {"duration": "x"}}
    )
    assert bad_payload.status_code == 422
    assert bad_payload.json()["errors"][0]["field"] == "payload.duration"
    unknown = await client.post(f"/api/v1/contacts/{anna}/activities", json={"kind": "fax"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "kind"
    naive = await client.post(
        f"/api/v1/contacts/{anna}/activities",
        json={"kind": "note", "occurred_at": "2026-11-01T10:00:00"},
    )
    assert naive.status_code == 422


async def test_own_open_tasks_and_completing_one(rapport, api_client):
    client = await api_client.new(scopes=["activities:write"])
    someone = await api_client.new()
    anna = await create_contact({"first_name": "Anna"})
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    later = soon + dt.timedelta(days=1)
    for due, assignee in (
        (later, client.user["id"]),
        (soon, client.user["id"]),
        (soon, someone.user["id"]),
    ):
        await client.post(
            f"/api/v1/contacts/{anna}/activities",
            json={
                "kind": "task",
                "body": "Call back",
                "due_at": due.isoformat(),
                "assignee_id": assignee,
            },
        )
    first = (await client.get("/api/v1/tasks", params={"limit": 1})).json()
    second = (await client.get("/api/v1/tasks", params={"cursor": first["next_cursor"]})).json()
    mine = first["data"] + second["data"]
    assert [t["assignee_id"] for t in mine] == [client.user["id"]] * 2
    assert mine[0]["due_at"] < mine[1]["due_at"]  # soonest first

    done = await client.post(f"/api/v1/tasks/{mine[0]['id']}/complete")
    assert done.status_code == 200 and done.json()["done_at"] is not None
    left = (await client.get("/api/v1/tasks")).json()["data"]
    assert [t["id"] for t in left] == [mine[1]["id"]]
    note = await client.post(f"/api/v1/contacts/{anna}/activities", json={"kind": "note"})
    not_a_task = await client.post(f"/api/v1/tasks/{note.json()['id']}/complete")
    assert not_a_task.status_code == 422


async def test_tags_custom_fields_and_users(rapport, api_client):
    client = await api_client.new()
    await declare_fields([CustomField("tier", "Tier", "choice", ("gold", "silver"))], "admin")
    await create_contact({"first_name": "Anna", "tags": ["b", "a", "c"]})
    first = (await client.get("/api/v1/tags", params={"limit": 2})).json()
    rest = (await client.get("/api/v1/tags", params={"cursor": first["next_cursor"]})).json()
    assert [t["name"] for t in first["data"] + rest["data"]] == ["b", "a", "c"]

    fields = (await client.get("/api/v1/custom-fields")).json()["data"]
    assert {
        "key": "tier",
        "label": "Tier",
        "type": "choice",
        "choices": ["gold", "silver"],
    } in fields

    users = (await client.get("/api/v1/users")).json()["data"]
    assert client.user["id"] in [u["id"] for u in users]
    assert all("password_hash" not in u for u in users)
    one = (await client.get(f"/api/v1/users/{client.user['id']}")).json()
    assert one["email"] == client.user["email"] and one["role"] == "admin"
    assert (await client.get("/api/v1/users/999999")).status_code == 404
