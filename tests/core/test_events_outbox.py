"""The outbox: events are written with the change and dispatched only after commit."""

import pytest
from rapport.db.transaction import transaction
from rapport.events.bus import publish
from rapport.events.core_events import ContactCreated
from rapport.events.tables import OutboxEvent


class Boom(Exception):
    pass


async def test_event_in_rolled_back_transaction_is_never_delivered(rapport, captured_events):
    with pytest.raises(Boom):
        async with transaction():
            await publish(ContactCreated(contact_id=1, kind="person", name="Ghost"))
            raise Boom
    assert captured_events == []
    assert await OutboxEvent.count() == 0


async def test_committed_event_is_stored_then_dispatched(rapport, captured_events):
    async with transaction():
        meta = await publish(ContactCreated(contact_id=7, kind="person", name="Anna"))
        assert captured_events == []  # not before the commit
    assert [(e.name, m.id) for e, m in captured_events] == [("Anna", meta.id)]
    row = await OutboxEvent.select().where(OutboxEvent.id == meta.id).first()
    assert row["type"] == "contact.created" and row["key"] == "contact:7"
