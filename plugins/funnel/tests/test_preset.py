"""The B2B business type enables the funnel, which seeds its default pipeline once."""

from __future__ import annotations

from rapport.api import running
from rapport.testing import make_user, sign_in, web_client

PASSWORD = "test-pass-word-1"


async def test_the_b2b_preset_enables_the_funnel_with_its_default_pipeline(rapport_settings):
    async with running(rapport_settings):
        await make_user("admin@example.com", "Ada Admin", "admin")
    async with web_client(rapport_settings) as client:
        token = await sign_in(client, "admin@example.com", PASSWORD)
        assert (await client.get("/funnel")).status_code == 404  # not enabled yet
        for _attempt in range(2):  # applying again seeds nothing twice
            done = await client.post("/admin/setup", data={"preset": "b2b",
                                                           "_csrf_token": token})
            assert done.status_code == 200
        board = await client.get("/funnel", follow_redirects=True)
        assert board.status_code == 200
        assert "New clients" in board.text
        for stage in ("Qualification", "Needs analysis", "Proposal", "Negotiation", "Won",
                      "Lost"):
            assert f"> {stage}</h2>" in board.text
        settings = await client.get("/funnel/settings")
        assert settings.text.count('href="/funnel/settings/pipelines/') == 1
        assert "Price too high" in settings.text
