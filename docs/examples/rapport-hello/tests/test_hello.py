"""rapport-hello's own tests, written with the fixtures ``rapport.testing`` provides.

Installing ``rapport`` registers its pytest plugin, so ``rapport`` (a started instance on a
fresh database, every installed plugin's migrations applied) and ``captured_events`` are
available with nothing to import; ``@pytest.mark.enable("hello")`` enables the plugin for a
test the way an administrator would.
"""

import pytest
from rapport.api import create_contact, merge_contacts, timeline
from rapport_hello.plugin import DEFAULT_PHRASES, HelloSent, greetings_of
from rapport_hello.tables import HelloGreeting, HelloPhrase

pytestmark = pytest.mark.enable("hello")


async def phrases() -> list[str]:
    return [r["text"] for r in await HelloPhrase.select(HelloPhrase.text).order_by(HelloPhrase.id)]


async def test_enabling_seeds_the_phrases_once(rapport):
    assert await phrases() == list(DEFAULT_PHRASES)
    # Enabling again (after a disable) runs the hook again: it adds nothing.
    await rapport.plugins.call("plugin_enabled", only="hello", name="hello")
    assert await phrases() == list(DEFAULT_PHRASES)


async def test_enabling_keeps_the_administrators_phrases(rapport):
    await HelloPhrase.delete(force=True)
    await HelloPhrase.insert(HelloPhrase(text="Good day, {name}."))
    await rapport.plugins.call("plugin_enabled", only="hello", name="hello")
    assert await phrases() == ["Good day, {name}."]


async def test_a_new_contact_is_greeted(rapport, captured_events):
    anna = await create_contact({"first_name": "Anna", "emails": ["anna@example.com"]})

    greetings = await greetings_of(anna)
    assert len(greetings) == 1
    assert greetings[0]["text"] in [p.replace("{name}", "Anna") for p in DEFAULT_PHRASES]
    entries = [a for a in await timeline(anna) if a["kind"] == "greeting"]
    assert [e["body"] for e in entries] == [greetings[0]["text"]]
    assert entries[0]["payload"] == {"greeting_id": greetings[0]["id"]}
    sent = [e for e, _meta in captured_events if isinstance(e, HelloSent)]
    assert sent == [
        HelloSent(contact_id=anna, greeting_id=greetings[0]["id"], text=greetings[0]["text"])
    ]


async def test_companies_are_greeted_only_when_configured(rapport):
    acme = await create_contact({"kind": "company", "name": "Acme"})
    assert await greetings_of(acme) == []

    extra = {**rapport.settings.extra, "hello": {"greet_companies": True}}
    rapport.settings = rapport.settings.with_overrides(extra=extra)
    initech = await create_contact({"kind": "company", "name": "Initech"})
    assert len(await greetings_of(initech)) == 1


async def test_merging_moves_the_greetings_to_the_winner(rapport):
    anna = await create_contact({"first_name": "Anna", "emails": ["anna@example.com"]})
    twin = await create_contact({"first_name": "Anna", "emails": ["anna.k@example.com"]})
    assert len(await greetings_of(twin)) == 1

    await merge_contacts(anna, twin)

    assert await greetings_of(twin) == []
    assert len(await greetings_of(anna)) == 2
    assert await HelloGreeting.count() == 2


async def test_the_api_lists_a_contacts_greetings_page_by_page(rapport, api_client):
    # api_client makes a user with a token of the scopes asked for, and an HTTP client
    # against the app that sends it as "Authorization: Bearer ...".
    client = await api_client.new(scopes=["hello:read"])
    anna = await create_contact({"first_name": "Anna", "emails": ["anna@example.com"]})
    twin = await create_contact({"first_name": "Anna", "emails": ["anna.k@example.com"]})
    await merge_contacts(anna, twin)  # anna now has two greetings

    first = await client.get(f"/api/v1/hello/contacts/{anna}/greetings", params={"limit": 1})
    assert first.status_code == 200
    second = await client.get(
        f"/api/v1/hello/contacts/{anna}/greetings",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
    )
    texts = [g["text"] for g in first.json()["data"] + second.json()["data"]]
    assert texts == [g["text"] for g in await greetings_of(anna)]
    assert second.json()["next_cursor"] is None

    missing = await client.get("/api/v1/hello/contacts/999999/greetings")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
