"""The account's API tokens page over HTTP: CSRF, shown once, own tokens only."""

import re

import httpx
from rapport.rest.tables import ApiToken
from rapport.rest.tokens import create_token
from rapport.testing import sign_in
from rapport.users.accounts import create_user
from rapport.web.app import create_app

PASSWORD = "tokens-pass-123"


async def test_tokens_are_created_once_and_only_their_owner_revokes_them(rapport):
    staff = await create_user("sam@example.com", "Sam", PASSWORD, "staff")
    other = await create_user("olga@example.com", "Olga", PASSWORD, "staff")
    theirs = await create_token(other["id"], "Olga's", ["contacts:read"])
    app = create_app(rapport.settings, rapport.plugins)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    ) as client:
        csrf = await sign_in(client, "sam@example.com", PASSWORD)
        form = {"_csrf_token": csrf, "name": "Shop", "scope_contacts": "write", "expires_on": ""}

        no_csrf = await client.post("/account/api-tokens", data={**form, "_csrf_token": ""})
        assert no_csrf.status_code == 403
        assert await ApiToken.count() == 1

        created = await client.post("/account/api-tokens", data=form)
        assert created.status_code == 201
        assert created.headers["cache-control"] == "no-store"
        secret = re.search(r'value="(rpt_[^"]+)" data-new-token', created.text).group(1)
        row = await ApiToken.select().where(ApiToken.user == staff["id"]).first()
        assert row["scopes"] == '["contacts:write"]'  # write includes read
        listed = await client.get("/account/api-tokens")
        assert secret not in listed.text and row["prefix"] in listed.text

        api = await client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {secret}"})
        assert api.status_code == 200

        refused = await client.post(
            "/account/api-tokens", data={**form, "name": "", "scope_contacts": ""}
        )
        assert refused.status_code == 400
        assert 'id="name-error"' in refused.text and 'id="scopes-error"' in refused.text

        # Someone else's token id: nothing happens to it.
        await client.post(f"/account/api-tokens/{theirs.id}/revoke", data={"_csrf_token": csrf})
        assert (await ApiToken.select().where(ApiToken.id == theirs.id).first())[
            "revoked_at"
        ] is None
        revoked = await client.post(
            f"/account/api-tokens/{row['id']}/revoke", data={"_csrf_token": csrf}
        )
        assert revoked.status_code in (302, 303)
        api = await client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {secret}"})
        assert api.status_code == 401
