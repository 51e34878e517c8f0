"""Contacts and companies through the API: visibility, idempotency, pages, problems."""

from rapport.api import create_contact
from rapport.contacts.tables import Contact
from rapport.users.visibility import set_visibility_mode

PROBLEM = "application/problem+json"


async def test_a_second_users_token_cannot_see_contacts_it_may_not_see(rapport, api_client):
    await set_visibility_mode("own")
    alice = await api_client.new(role="staff", name="Alice")
    bob = await api_client.new(role="staff", name="Bob")
    created = await alice.post(
        "/api/v1/contacts", json={"first_name": "Anna", "emails": [{"value": "anna@example.com"}]}
    )
    anna = created.json()
    assert anna["owner_id"] == alice.user["id"]  # the token's user owns what it creates
    unassigned = await create_contact({"first_name": "Ivan"})

    twin = await bob.post(
        "/api/v1/contacts", json={"first_name": "Anna", "emails": [{"value": "anna@example.com"}]}
    )
    ivan_twin = await bob.post("/api/v1/contacts", json={"first_name": "Ivan K"})
    assert ivan_twin.status_code == 201
    hidden = await bob.get(f"/api/v1/contacts/{anna['id']}")
    missing = await bob.get("/api/v1/contacts/999999")
    # 404 like a contact that does not exist: existence does not leak.
    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers["content-type"] == PROBLEM
    assert hidden.json()["detail"] == f"no contact {anna['id']}"
    # The duplicate warning does not read out a contact Bob may not see.
    assert twin.status_code == 409
    assert twin.json()["duplicates"] == [
        {
            "id": anna["id"],
            "name": "",
            "channel": "email",
            "value": "anna@example.com",
            "archived": False,
            "visible": False,
        }
    ]
    listed = (await bob.get("/api/v1/contacts")).json()["data"]
    assert [c["id"] for c in listed] == [unassigned, ivan_twin.json()["id"]]
    for attempt in (
        bob.patch(f"/api/v1/contacts/{anna['id']}", json={"city": "Tver"}),
        bob.get(f"/api/v1/contacts/{anna['id']}/activities"),
        bob.post(f"/api/v1/contacts/{anna['id']}/activities", json={"kind": "note"}),
    ):
        assert (await attempt).status_code == 404
    seen = await alice.get(f"/api/v1/contacts/{anna['id']}")
    assert seen.status_code == 200 and seen.json()["city"] == ""

    await set_visibility_mode("all")
    assert (await bob.get(f"/api/v1/contacts/{anna['id']}")).status_code == 200


async def test_an_idempotent_post_retried_returns_the_first_result(rapport, api_client):
    client = await api_client.new()
    body = {"first_name": "Anna", "emails": [{"value": "anna@example.com"}]}
    key = {"Idempotency-Key": "order-7-contact"}

    first = await client.post("/api/v1/contacts", json=body, headers=key)
    retried = await client.post("/api/v1/contacts", json=body, headers=key)

    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert retried.headers["location"] == first.headers["location"]
    assert retried.headers["idempotent-replayed"] == "true"
    assert await Contact.count() == 1

    other_body = await client.post(
        "/api/v1/contacts", json={**body, "first_name": "Boris"}, headers=key
    )
    assert other_body.status_code == 422
    assert other_body.json()["type"] == "urn:rapport:problem:idempotency-key-reused"
    # Without the key, the same body is a new request: the duplicate check answers.
    again = await client.post("/api/v1/contacts", json=body)
    assert again.status_code == 409
    assert again.json()["duplicates"][0]["id"] == first.json()["id"]
    # Another token's key space is its own.
    stranger = await api_client.new()
    theirs = await stranger.post("/api/v1/contacts", json={"first_name": "Oleg"}, headers=key)
    assert theirs.status_code == 201 and theirs.json()["name"] == "Oleg"


async def test_a_failed_idempotent_post_can_be_fixed_and_retried_with_the_same_key(
    rapport, api_client
):
    client = await api_client.new()
    key = {"Idempotency-Key": "k-1"}
    bad = await client.post(
        "/api/v1/contacts", json={"first_name": "Anna", "emails": ["nope"]}, headers=key
    )
    assert bad.status_code in (400, 422)
    fixed = await client.post(
        "/api/v1/contacts",
        json={"first_name": "Anna", "emails": [{"value": "anna@example.com"}]},
        headers=key,
    )
    assert fixed.status_code == 201


async def test_pages_walk_every_row_once_while_rows_are_inserted(rapport, api_client):
    client = await api_client.new()
    for number in range(7):
        await create_contact({"first_name": f"Person {number:02d}"})
    for sort in ("id", "name"):
        seen: list[int] = []
        cursor = None
        added = 0
        while True:
            params = {"limit": 3, "sort": sort} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/contacts", params=params)).json()
            seen.extend(c["id"] for c in page["data"])
            # Someone adds contacts while the integration pages through.
            added += 1
            await create_contact({"first_name": f"Late {sort} {added}"})
            await create_contact({"first_name": f"Aaron {sort} {added}"})  # sorts first by name
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)), f"duplicates with sort={sort}"
        everyone_before = {r["id"] for r in await Contact.select(Contact.id)}
        assert set(seen) <= everyone_before
        assert len(seen) >= 7
    foreign = await client.get("/api/v1/contacts", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert foreign.status_code == 400 and foreign.json()["errors"][0]["field"] == "cursor"


async def test_bad_email_and_bad_phone_get_field_errors(rapport, api_client):
    client = await api_client.new()
    answer = await client.post(
        "/api/v1/contacts",
        json={
            "first_name": "Anna",
            "emails": [{"value": "anna@example.com"}, {"value": "not-an-email"}],
            "phones": [{"value": "12"}],
        },
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["type"] == "urn:rapport:problem:validation"
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(fields) == {"emails.1", "phones.0"}
    assert all(message for message in fields.values())
    assert await Contact.count() == 0


async def test_schema_errors_unknown_paths_and_methods_are_problems(rapport, api_client):
    client = await api_client.new()
    wrong_type = await client.post("/api/v1/contacts", json={"first_name": 5})
    assert wrong_type.status_code == 400
    assert wrong_type.headers["content-type"] == PROBLEM
    assert wrong_type.json()["errors"][0]["field"] == "first_name"
    unknown_field = await client.post("/api/v1/contacts", json={"nickname": "A"})
    assert unknown_field.status_code == 400 and unknown_field.json()["errors"]
    bad_query = await client.get("/api/v1/contacts", params={"limit": 0})
    assert bad_query.status_code == 400
    assert bad_query.json()["errors"][0]["location"] == "query"
    nowhere = await client.get("/api/v1/no-such-thing")
    assert nowhere.status_code == 404 and nowhere.headers["content-type"] == PROBLEM
    wrong_method = await client.delete("/api/v1/contacts")
    assert wrong_method.status_code == 405 and wrong_method.headers["content-type"] == PROBLEM
    assert wrong_method.json()["title"] == "Method Not Allowed"
    nul = await client.post("/api/v1/contacts", json={"first_name": "A\u0000"})
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "first_name"


async def test_contacts_with_channels_tags_custom_fields_and_expansion(rapport, api_client):
    from rapport.contacts.custom_fields import CustomField
    from rapport.contacts.custom_fields_store import declare_fields

    await declare_fields([CustomField("vip", "VIP", "bool")], "admin")
    client = await api_client.new()
    acme = (await client.post("/api/v1/companies", json={"name": "Acme"})).json()
    assert acme["kind"] == "company"
    created = await client.post(
        "/api/v1/contacts",
        json={
            "first_name": "Anna",
            "last_name": "Petrova",
            "company_id": acme["id"],
            "emails": [{"value": "Anna@Example.com", "label": "home"}],
            "phones": [{"value": "8 (495) 123-45-67"}],
            "tags": ["vip", "moscow"],
            "custom": {"vip": True},
        },
    )
    anna = created.json()
    assert anna["name"] == "Anna Petrova"
    assert anna["emails"] == [{"email": "Anna@Example.com", "label": "home"}]
    assert anna["phones"][0]["e164"] == "+74951234567"
    assert sorted(anna["tags"]) == ["moscow", "vip"] and anna["custom"] == {"vip": True}
    assert "company" not in anna  # not expanded

    await client.post(
        f"/api/v1/contacts/{anna['id']}/activities", json={"kind": "note", "body": "Hi"}
    )
    one = (
        await client.get(
            f"/api/v1/contacts/{anna['id']}", params={"expand": "company,owner,activities"}
        )
    ).json()
    assert one["company"] == {"id": acme["id"], "name": "Acme"}
    assert one["owner"] == {"id": client.user["id"], "name": client.user["name"]}
    assert [a["body"] for a in one["activities"]] == ["Hi"]

    by_tag = (
        await client.get("/api/v1/contacts", params={"tag": "VIP", "expand": "company"})
    ).json()
    assert [c["id"] for c in by_tag["data"]] == [anna["id"]]
    assert by_tag["data"][0]["company"]["name"] == "Acme"
    people = (await client.get("/api/v1/contacts", params={"kind": "person"})).json()["data"]
    assert [c["id"] for c in people] == [anna["id"]]
    companies = (await client.get("/api/v1/companies")).json()["data"]
    assert [c["id"] for c in companies] == [acme["id"]]
    assert (await client.get(f"/api/v1/companies/{anna['id']}")).status_code == 404
    refused = await client.get("/api/v1/contacts", params={"expand": "activities"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "expand"

    changed = await client.patch(
        f"/api/v1/contacts/{anna['id']}", json={"city": "Tver", "tags": ["moscow"]}
    )
    assert changed.json()["city"] == "Tver" and changed.json()["tags"] == ["moscow"]
    later = (
        await client.get("/api/v1/contacts", params={"updated_since": one["updated_at"]})
    ).json()
    assert anna["id"] in [c["id"] for c in later["data"]]
    naive = await client.get("/api/v1/contacts", params={"updated_since": "2026-01-01T10:00:00"})
    assert naive.status_code == 400

    archived = await client.post(f"/api/v1/contacts/{anna['id']}/archive")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert anna["id"] not in [
        c["id"] for c in (await client.get("/api/v1/contacts")).json()["data"]
    ]
    listed = (await client.get("/api/v1/contacts", params={"archived": "true"})).json()["data"]
    assert [c["id"] for c in listed] == [anna["id"]]
    restored = await client.post(f"/api/v1/contacts/{anna['id']}/restore")
    assert restored.json()["archived"] is False


async def test_a_staff_token_cannot_archive_without_the_permission(rapport, api_client):
    staff = await api_client.new(role="staff")
    anna = (await staff.post("/api/v1/contacts", json={"first_name": "Anna"})).json()
    refused = await staff.post(f"/api/v1/contacts/{anna['id']}/archive")
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:rapport:problem:missing-permission"
    assert (await staff.get(f"/api/v1/contacts/{anna['id']}")).json()["archived"] is False


async def test_a_retry_while_the_first_request_runs_gets_409(rapport, api_client):
    import datetime as dt
    import hashlib

    from rapport.rest.tables import ApiIdempotentRequest, ApiToken
    from rapport.rest.tokens import hash_token

    client = await api_client.new()
    token = (
        await ApiToken.select(ApiToken.id)
        .where(ApiToken.token_hash == hash_token(client.token))
        .first()
    )
    body = b'{"first_name":"Anna"}'
    digest = hashlib.sha256(b"POST\0/api/v1/contacts\0\0" + body).hexdigest()
    now = dt.datetime.now(dt.UTC)
    # The first request with the key has claimed it and not finished yet.
    await ApiIdempotentRequest.insert(
        ApiIdempotentRequest(
            token=token["id"],
            key="k",
            request_hash=digest,
            status=0,
            created_at=now,
            expires_at=now + dt.timedelta(hours=24),
        )
    )
    retry = await client.post(
        "/api/v1/contacts",
        content=body,
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    assert retry.status_code == 409
    assert retry.json()["type"] == "urn:rapport:problem:idempotency-in-progress"
    assert retry.headers["retry-after"] == "1"
    assert await Contact.count() == 0
