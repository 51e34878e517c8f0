"""The assignment rules admin page and the "away" flag, over HTTP against the real app."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from rapport.assignment.service import rules_in_order
from rapport.plugins.registry import PluginRegistry
from rapport.testing import sign_in
from rapport.users.accounts import create_user
from rapport.users.tables import User
from rapport.web.app import create_app

PASSWORD = "admin-pass-123"


def in_app(client, make):
    async def run():
        return await make()

    return client.blocking_portal.call(run)


async def test_admin_creates_checks_reorders_and_edits_rules(rapport_settings):
    app = create_app(rapport_settings, PluginRegistry(discover=False))
    async with AsyncTestClient(app) as client:
        in_app(client, lambda: create_user("root@example.com", "Root", PASSWORD, "admin"))
        rep = in_app(client, lambda: create_user("rep@example.com", "Kazan Rep", PASSWORD, "staff"))
        token = await sign_in(client, "root@example.com", PASSWORD)

        refused = await client.post(
            "/admin/assignment",
            data={"_csrf_token": token, "name": "", "kind": "territory", "match_field": "city"},
        )
        assert refused.status_code == 400
        assert 'id="name-error"' in refused.text and "Give the rule a name." in refused.text
        assert "Enter at least one value, one per line." in refused.text
        assert "Pick the user who gets the contacts." in refused.text

        for name, kind, extra in [
            (
                "Tatarstan",
                "territory",
                {"match_field": "city", "match_values": "Kazan\nNaberezhnye Chelny"},
            ),
            ("Everyone else", "fallback", {}),
        ]:
            created = await client.post(
                "/admin/assignment",
                data={
                    "_csrf_token": token,
                    "name": name,
                    "kind": kind,
                    "target_user": str(rep["id"]),
                    "active": "on",
                    **extra,
                },
                follow_redirects=False,
            )
            assert created.status_code in (302, 303), created.text
        rules = in_app(client, rules_in_order)
        assert [r["name"] for r in rules] == ["Tatarstan", "Everyone else"]
        assert rules[0]["match_values"] == ["Kazan", "Naberezhnye Chelny"]

        await client.post(
            f"/admin/assignment/{rules[1]['id']}/move",
            data={"_csrf_token": token, "direction": "up"},
        )
        assert [r["name"] for r in in_app(client, rules_in_order)] == ["Everyone else", "Tatarstan"]
        listing = await client.get("/admin/assignment")
        assert listing.text.index("Everyone else") < listing.text.index("Tatarstan")
        assert "Kazan Rep" in listing.text

        # Without the token the form is refused.
        assert (await client.post(f"/admin/assignment/{rules[0]['id']}/delete")).status_code == 403

        # In Russian.
        await client.post("/account/language", data={"_csrf_token": token, "language": "ru"})
        russian = await client.get("/admin/assignment")
        assert "Правила распределения" in russian.text and "По территории" in russian.text


async def test_away_is_set_by_the_admin_and_by_the_user_themself(rapport_settings):
    app = create_app(rapport_settings, PluginRegistry(discover=False))
    async with AsyncTestClient(app) as client:
        in_app(client, lambda: create_user("root@example.com", "Root", PASSWORD, "admin"))
        rep = in_app(client, lambda: create_user("rep@example.com", "Rep", PASSWORD, "staff"))
        token = await sign_in(client, "root@example.com", PASSWORD)
        saved = await client.post(
            f"/admin/users/{rep['id']}",
            data={
                "_csrf_token": token,
                "name": "Rep",
                "role": "staff",
                "is_active": "on",
                "away": "on",
            },
            follow_redirects=False,
        )
        assert saved.status_code in (302, 303)

        async def away_of():
            return (await User.select(User.away).where(User.id == rep["id"]).first())["away"]

        assert in_app(client, away_of) is True
        assert "away" in (await client.get("/admin/users")).text

    async with AsyncTestClient(app) as client:
        token = await sign_in(client, "rep@example.com", PASSWORD)
        account = await client.get("/account")
        assert 'id="away" name="away" type="checkbox" checked' in account.text
        await client.post("/account/away", data={"_csrf_token": token})
        assert in_app(client, away_of) is False
