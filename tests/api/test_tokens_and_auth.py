"""API tokens: bearer only, scopes per area, revocation and expiry at once, rate limits."""

import datetime as dt

import pytest
from rapport.rest.tables import ApiToken
from rapport.rest.tokens import TokenError, create_token, hash_token, revoke_token

PROBLEM = "application/problem+json"


async def test_a_read_only_token_reads_but_is_refused_on_write(rapport, api_client):
    reader = await api_client.new(scopes=["contacts:read"])
    assert (await reader.get("/api/v1/contacts")).status_code == 200

    refused = await reader.post("/api/v1/contacts", json={"first_name": "Anna"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert body["type"] == "urn:rapport:problem:missing-scope"
    assert body["status"] == 403 and "contacts:write" in body["detail"]
    listed = (await reader.get("/api/v1/contacts")).json()
    assert listed["data"] == []  # nothing was created


async def test_write_scope_includes_read_of_the_same_area_only(rapport, api_client):
    writer = await api_client.new(scopes=["contacts:write"])
    created = await writer.post("/api/v1/contacts", json={"first_name": "Anna"})
    assert created.status_code == 201
    assert (await writer.get(created.headers["location"])).json()["name"] == "Anna"
    other_area = await writer.get("/api/v1/users/me")
    assert other_area.status_code == 403 and "users:read" in other_area.json()["detail"]


async def test_a_revoked_token_is_refused_at_once(rapport, api_client):
    client = await api_client.new(scopes=["users:read"])
    me = await client.get("/api/v1/users/me")
    assert me.json()["email"] == client.user["email"]
    token_id = (
        await ApiToken.select(ApiToken.id)
        .where(ApiToken.token_hash == hash_token(client.token))
        .first()
    )["id"]
    assert await revoke_token(client.user["id"], token_id)

    refused = await client.get("/api/v1/users/me")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["detail"] == "the token was revoked"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert not await revoke_token(client.user["id"], token_id)  # already revoked


async def test_the_session_cookie_never_authenticates_the_api(rapport, api_client):
    client = await api_client.new()
    from rapport.users.sessions import create_session, user_for_session

    session = await create_session(client.user["id"])  # a real, signed-in browser session
    assert (await user_for_session(session))["id"] == client.user["id"]
    client.cookies.set("rapport_session", session)
    answer = await client.get("/api/v1/users/me", headers={"Authorization": ""})
    assert answer.status_code == 401
    assert answer.json()["title"] == "Unauthorized"
    assert "location" not in answer.headers  # no redirect to the sign-in page
    malformed = await client.get("/api/v1/users/me", headers={"Authorization": "Bearer nope"})
    assert malformed.json()["detail"] == "the token is malformed"


async def test_an_expired_token_is_refused_and_last_use_is_recorded(rapport, api_client):
    client = await api_client.new(scopes=["users:read"])
    assert (await client.get("/api/v1/users/me")).status_code == 200
    row = await ApiToken.select().where(ApiToken.token_hash == hash_token(client.token)).first()
    assert row["last_used_at"] is not None
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await ApiToken.update({ApiToken.expires_at: past}).where(ApiToken.id == row["id"])
    refused = await client.get("/api/v1/users/me")
    assert refused.status_code == 401 and refused.json()["detail"] == "the token has expired"


async def test_tokens_are_stored_hashed_and_checked_on_creation(rapport, api_client):
    client = await api_client.new()
    stored = await ApiToken.select().where(ApiToken.user == client.user["id"]).first()
    assert stored["token_hash"] == hash_token(client.token) != client.token
    assert client.token.startswith(stored["prefix"]) and len(stored["prefix"]) < 16
    with pytest.raises(TokenError) as refused:
        await create_token(
            client.user["id"],
            "",
            ["nope:read"],
            expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        )
    assert set(refused.value.errors) == {"name", "scopes", "expires_at"}
