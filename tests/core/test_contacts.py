"""Contacts: create, validate, update, dedupe, archive and merge on a real database."""

import datetime as dt

import pytest
from rapport.activities.service import complete_task, log_activity, timeline
from rapport.activities.tables import Activity
from rapport.contacts.custom_fields import CustomField
from rapport.contacts.custom_fields_store import declare_fields
from rapport.contacts.dedupe import DuplicateContact
from rapport.contacts.lookup import match_contact
from rapport.contacts.merge import MergeError, merge_contacts
from rapport.contacts.service import (
    archive_contact,
    create_contact,
    get_contact,
    update_contact,
)
from rapport.contacts.tables import Contact, ContactMerge
from rapport.contacts.validation import ValidationError


async def test_create_normalises_channels_and_publishes(rapport, captured_events):
    contact_id = await create_contact(
        {
            "first_name": "Анна",
            "last_name": "Смирнова",
            "emails": [{"value": "Anna.Smirnova@Example.COM", "label": "work"}],
            "phones": ["8 (912) 345-67-89", {"value": "+44 20 7946 0958", "label": "office"}],
            "tags": ["VIP", "vip", "Опт"],
            "source": "exhibition",
        }
    )
    contact = await get_contact(contact_id)
    assert contact["name"] == "Анна Смирнова"
    assert contact["emails"][0]["email"] == "Anna.Smirnova@Example.COM"
    assert contact["emails"][0]["normalized"] == "anna.smirnova@example.com"
    assert [p["e164"] for p in contact["phones"]] == ["+79123456789", "+442079460958"]
    assert contact["phones"][0]["raw"] == "8 (912) 345-67-89"
    assert sorted(contact["tags"]) == ["VIP", "Опт"]
    assert contact["created_at"].tzinfo is not None
    assert [(e.type, e.contact_id) for e, _ in captured_events] == [("contact.created", contact_id)]


async def test_bad_input_reports_every_field(rapport):
    with pytest.raises(ValidationError) as info:
        await create_contact(
            {
                "first_name": "",
                "emails": ["good@example.com", "not-an-email"],
                "phones": ["12"],
                "country": "Russia",
                "owner_id": "x",
            }
        )
    errors = info.value.errors
    assert set(errors) == {"first_name", "emails.1", "phones.0", "country", "owner_id"}
    assert "email" in errors["emails.1"]
    assert await Contact.count() == 0


async def test_channel_labels_and_typed_phones_longer_than_their_columns_are_refused(rapport):
    # PostgreSQL would refuse these values with a database error; SQLite would keep them.
    with pytest.raises(ValidationError) as info:
        await create_contact(
            {
                "first_name": "Long",
                "emails": [{"value": "long@example.com", "label": "x" * 41}],
                "phones": [
                    {"value": "+7 912 345-67-89", "label": "y" * 41},
                    "+7 912 345-67-80, ask for the office of " + "x" * 30,
                ],
            }
        )
    assert info.value.errors == {
        "emails.0": "the label must be at most 40 characters",
        "phones.0": "the label must be at most 40 characters",
        "phones.1": "a phone number must be at most 64 characters",
    }
    assert await Contact.count() == 0
    fine = await create_contact(
        {"first_name": "Fine", "emails": [{"value": "fine@example.com", "label": "z" * 40}]}
    )
    assert fine


async def test_company_needs_a_name_and_people_belong_to_it(rapport):
    with pytest.raises(ValidationError) as info:
        await create_contact({"kind": "company"})
    assert "name" in info.value.errors
    acme = await create_contact({"kind": "company", "name": "Acme Ltd"})
    person = await create_contact({"first_name": "Ivan", "company_id": acme, "position": "CFO"})
    assert (await get_contact(person))["company_name"] == "Acme Ltd"
    with pytest.raises(ValidationError) as info:
        await create_contact({"first_name": "Olga", "company_id": person})
    assert info.value.errors["company_id"] == "is a person, not a company"


async def test_duplicate_by_email_or_phone_in_any_format_is_reported(rapport):
    first = await create_contact(
        {"first_name": "Anna", "emails": ["anna@example.com"], "phones": ["+7 912 345 67 89"]}
    )
    with pytest.raises(DuplicateContact) as info:
        await create_contact({"first_name": "A.", "emails": ["ANNA@example.com"]})
    assert [(m.contact_id, m.channel) for m in info.value.matches] == [(first, "email")]
    with pytest.raises(DuplicateContact) as info:
        await create_contact({"first_name": "A.", "phones": ["89123456789"]})
    assert info.value.matches[0].value == "+79123456789"
    assert await Contact.count() == 1
    second = await create_contact(
        {"first_name": "Anna", "phones": ["89123456789"]}, allow_duplicate=True
    )
    assert second != first
    found = await match_contact(phone="(912) 345-67-89")
    assert found is not None and found.id == first  # the older record wins a tie


async def test_update_reports_changes_and_keeps_other_fields(rapport, captured_events):
    contact_id = await create_contact(
        {"first_name": "Anna", "last_name": "Lee", "city": "Kazan", "emails": ["a@example.com"]}
    )
    changes = await update_contact(
        contact_id, {"last_name": "Park", "phones": ["+7 900 000-00-01"], "tags": ["lead"]}
    )
    assert changes["last_name"] == ["Lee", "Park"]
    assert changes["name"] == ["Anna Lee", "Anna Park"]
    assert changes["phones"] == [[], ["+79000000001"]]
    contact = await get_contact(contact_id)
    assert contact["city"] == "Kazan" and contact["emails"][0]["email"] == "a@example.com"
    assert await update_contact(contact_id, {"city": "Kazan"}) == {}
    updated = [e for e, _ in captured_events if e.type == "contact.updated"]
    assert len(updated) == 1 and updated[0].changes["tags"] == [[], ["lead"]]


async def test_update_refuses_a_phone_another_contact_has(rapport):
    await create_contact({"first_name": "Anna", "phones": ["+79123456789"]})
    bob = await create_contact({"first_name": "Bob"})
    with pytest.raises(DuplicateContact):
        await update_contact(bob, {"phones": ["8 912 345 67 89"]})
    assert (await get_contact(bob))["phones"] == []


async def test_custom_fields_are_typed(rapport):
    await declare_fields(
        [
            CustomField("birthday", "Birthday", "date"),
            CustomField("budget", "Budget", "number"),
            CustomField("segment", "Segment", "choice", ("A", "B")),
            CustomField("consent", "Consent", "bool"),
        ],
        "admin",
    )
    contact_id = await create_contact(
        {
            "first_name": "Anna",
            "custom": {
                "birthday": "1990-04-01",
                "budget": "1 500,50",
                "segment": "A",
                "consent": "yes",
            },
        }
    )
    assert (await get_contact(contact_id))["custom"] == {
        "birthday": "1990-04-01",
        "budget": 1500.5,
        "segment": "A",
        "consent": True,
    }
    with pytest.raises(ValidationError) as info:
        await update_contact(contact_id, {"custom": {"segment": "Z", "nope": 1}})
    assert set(info.value.errors) <= {"custom.segment", "custom.nope"}
    await update_contact(contact_id, {"custom": {"budget": None}})
    assert "budget" not in (await get_contact(contact_id))["custom"]


async def test_archive_is_not_delete(rapport, captured_events):
    contact_id = await create_contact({"first_name": "Anna"})
    await archive_contact(contact_id)
    assert (await get_contact(contact_id))["archived"] is True
    await archive_contact(contact_id)  # no second event
    assert [e.type for e, _ in captured_events].count("contact.archived") == 1


async def test_merge_keeps_every_channel_tag_and_activity_of_both(rapport, captured_events):
    winner = await create_contact(
        {
            "first_name": "Anna",
            "emails": ["anna@example.com"],
            "phones": ["+79123456789"],
            "tags": ["vip"],
        }
    )
    loser = await create_contact(
        {
            "first_name": "Anna",
            "last_name": "Smirnova",
            "city": "Kazan",
            "emails": ["anna@example.com", "anna@home.example"],
            "phones": ["+79990001122"],
            "tags": ["VIP", "wholesale"],
        },
        allow_duplicate=True,
    )
    await log_activity(winner, "note", body="first")
    await log_activity(loser, "call", body="called", payload={"duration": 30})
    merge_id = await merge_contacts(winner, loser)

    merged = await get_contact(winner)
    assert sorted(e["normalized"] for e in merged["emails"]) == [
        "anna@example.com",
        "anna@home.example",
    ]
    assert sorted(p["e164"] for p in merged["phones"]) == ["+79123456789", "+79990001122"]
    assert sorted(merged["tags"]) == ["vip", "wholesale"]
    assert merged["city"] == "Kazan" and merged["name"] == "Anna Smirnova"
    kinds = sorted(a["kind"] for a in await timeline(winner))
    assert kinds == ["call", "merge", "note"]
    gone = await get_contact(loser)
    assert gone["archived"] and gone["merged_into"] == winner
    assert gone["emails"] == [] and await Activity.count().where(Activity.contact == loser) == 0
    record = (
        await ContactMerge.select()
        .where(ContactMerge.id == merge_id)
        .first()
        .output(load_json=True)
    )
    assert record["moved"]["emails"] == ["anna@home.example"] and record["moved"]["activities"] == 1
    assert [e.type for e, _ in captured_events][-1] == "contact.merged"
    with pytest.raises(MergeError):
        await merge_contacts(winner, loser)


async def test_merge_failing_in_a_plugin_moves_nothing(rapport):
    import types

    from rapport.hookspecs import hookimpl

    winner = await create_contact({"first_name": "A", "emails": ["a@example.com"]})
    loser = await create_contact({"first_name": "B", "emails": ["b@example.com"]})
    module = types.ModuleType("failing_merge")

    @hookimpl
    def merge_contacts(winner_id, loser_id):
        raise RuntimeError("plugin cannot move its rows")

    module.merge_contacts = merge_contacts
    rapport.plugins.pm.register(module, name="test.failing_merge")
    try:
        with pytest.raises(RuntimeError):
            await merge_contacts_service(winner, loser)
    finally:
        rapport.plugins.pm.unregister(name="test.failing_merge")
    assert (await get_contact(loser))["emails"][0]["email"] == "b@example.com"
    assert not (await get_contact(loser))["archived"]


merge_contacts_service = merge_contacts


async def test_timeline_pages_by_keyset_and_tasks_complete_once(rapport, captured_events):
    contact_id = await create_contact({"first_name": "Anna"})
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(7):
        await log_activity(
            contact_id, "note", body=f"n{i}", occurred_at=base + dt.timedelta(hours=i)
        )
    first = await timeline(contact_id, limit=3)
    second = await timeline(contact_id, limit=3, before=(first[-1]["occurred_at"], first[-1]["id"]))
    assert [a["body"] for a in first + second] == ["n6", "n5", "n4", "n3", "n2", "n1"]
    task = await log_activity(contact_id, "task", body="call back", due_at=base)
    assert await complete_task(task) is True
    assert await complete_task(task) is False
    assert [e.type for e, _ in captured_events].count("task.completed") == 1
