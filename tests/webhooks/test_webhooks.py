"""Outgoing webhooks against a real HTTP receiver on a local port: signatures, retries with
the same event id, refusal of private addresses, order per contact, pause, 410 and
redelivery from the admin pages."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rapport.contacts.service import create_contact, update_contact
from rapport.events.delivery import Delivery, DeliveryOptions, deliver_all
from rapport.events.tables import DeliveryRetry
from rapport.webhooks import outbound, subscriptions
from rapport.webhooks.signing import verify_signature
from rapport.webhooks.tables import WebhookAttempt, WebhookSubscription
from rapport.webhooks.targets import is_public
from receiver import Receiver

OPTIONS = DeliveryOptions(budget=5.0)


async def deliver(rapport) -> None:
    await deliver_all(rapport.plugins, Delivery(worker="test", options=OPTIONS))


async def time_passes(subscription_id: int) -> None:
    """Make the subscription's waiting retries due now, as if their back-off had passed."""
    await DeliveryRetry.update(
        {DeliveryRetry.next_attempt_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}
    ).where(
        (DeliveryRetry.consumer == subscriptions.consumer_name(subscription_id))
        & (DeliveryRetry.status == "pending")
    )


async def subscribe(receiver: Receiver, types: list[str] | None = None, allow=True):
    await subscriptions.allow_private_targets(allow)
    return await subscriptions.create_subscription(receiver.url, types or ["contact.*"])


async def new_person(name: str) -> int:
    return await create_contact({"kind": "person", "name": name})


async def attempts(subscription_id: int) -> list[dict]:
    return (
        await WebhookAttempt.select()
        .where(WebhookAttempt.subscription_id == subscription_id)
        .order_by(WebhookAttempt.id)
    )


async def test_signature_verifies_with_the_documented_algorithm(rapport, receiver):
    subscription, secret = await subscribe(receiver)
    contact_id = await new_person("Анна Петрова")
    await deliver(rapport)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    body = request.json()
    assert body["type"] == "contact.created"
    assert body["payload"]["contact_id"] == contact_id
    assert body["payload"]["name"] == "Анна Петрова"
    assert body["version"] == 1 and body["occurred_at"].endswith("Z")
    assert request.headers["rapport-event-id"] == body["id"]
    assert request.headers["rapport-event-type"] == "contact.created"
    header = request.headers["rapport-signature"]
    assert verify_signature(secret, header, request.body)
    # The documented algorithm by hand: HMAC-SHA256(secret, f"{t}.{body}").
    import hashlib
    import hmac

    fields = dict(part.split("=", 1) for part in header.split(","))
    assert fields["t"] == request.headers["rapport-timestamp"]
    expected = hmac.new(
        secret.encode(), f"{fields['t']}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert fields["v1"] == expected
    # A changed body, another secret or an old timestamp do not verify.
    assert not verify_signature(secret, header, request.body + b" ")
    assert not verify_signature("whsec_other", header, request.body)
    assert not verify_signature(secret, header, request.body, now=int(fields["t"]) + 301)
    # The secret is never in the log.
    rows = await attempts(subscription["id"])
    assert [r["outcome"] for r in rows] == ["delivered"]
    assert secret not in json.dumps(rows, default=str)


async def test_three_failures_then_success_delivers_once_with_the_same_id(rapport, receiver):
    receiver.script = [500, 503, 502]
    subscription, _ = await subscribe(receiver)
    await new_person("Retry Person")
    await deliver(rapport)
    for _ in range(3):
        await time_passes(subscription["id"])
        await deliver(rapport)

    assert receiver.answered == [500, 503, 502, 200]
    assert len(set(receiver.ids())) == 1  # one event, the same id on every attempt
    assert receiver.successes() == {receiver.ids()[0]: 1}
    rows = await attempts(subscription["id"])
    assert [r["outcome"] for r in rows] == ["failed", "failed", "failed", "delivered"]
    assert [r["status_code"] for r in rows] == [500, 503, 502, 200]
    assert '"status": 500' in rows[0]["response_excerpt"]
    # Nothing is left to retry and more deliveries send nothing more.
    await time_passes(subscription["id"])
    await deliver(rapport)
    assert len(receiver.requests) == 4
    fresh = await subscriptions.get_subscription(subscription["id"])
    assert fresh["failure_streak"] == 0 and fresh["last_success_at"] is not None


async def test_loopback_is_refused_by_default(rapport, receiver):
    subscription, _ = await subscribe(receiver, allow=False)
    await new_person("Private")
    await deliver(rapport)
    assert receiver.requests == []
    rows = await attempts(subscription["id"])
    assert rows[0]["outcome"] == "refused"
    assert "127.0.0.1" in rows[0]["error"] and "not a public address" in rows[0]["error"]
    # Once the administrator allows private targets, the waiting event goes out.
    await subscriptions.allow_private_targets(True)
    await time_passes(subscription["id"])
    await deliver(rapport)
    assert [r.json()["type"] for r in receiver.requests] == ["contact.created"]


@pytest.mark.parametrize(
    "address, public",
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("fc00::1", False),
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
    ],
)
def test_address_classes(address, public):
    import ipaddress

    assert is_public(ipaddress.ip_address(address)) is public


async def test_a_name_resolving_to_loopback_is_refused(rapport, receiver):
    """``localhost`` is a name, not a literal: it is resolved and every address checked."""
    await subscriptions.allow_private_targets(False)
    subscription, _ = await subscriptions.create_subscription(
        receiver.url.replace("127.0.0.1", "localhost"), ["*"]
    )
    outcome = await outbound.ping(subscription["id"])
    assert outcome.outcome == "refused" and receiver.requests == []


async def test_events_of_one_contact_keep_their_order(rapport, receiver):
    subscription, _ = await subscribe(receiver)
    first = await new_person("First")
    second = await new_person("Second")
    receiver.script = [500]  # the first event of "first" fails once
    await deliver(rapport)
    await update_contact(first, {"name": "First renamed"})
    await update_contact(second, {"name": "Second renamed"})
    await deliver(rapport)
    # "second" flowed on; "first"'s update waits behind its failed creation.
    sent = [(r.json()["type"], r.json()["payload"]["contact_id"]) for r in receiver.requests]
    assert sent == [
        ("contact.created", first),
        ("contact.created", second),
        ("contact.updated", second),
    ]
    await time_passes(subscription["id"])
    await deliver(rapport)
    of_first = [
        r.json()["type"]
        for r, code in zip(receiver.requests, receiver.answered, strict=True)
        if r.json()["payload"]["contact_id"] == first and code == 200
    ]
    assert of_first == ["contact.created", "contact.updated"]


async def test_a_dead_receiver_does_not_hold_up_another(rapport, receiver):
    dead = Receiver(default=500)
    try:
        await subscriptions.allow_private_targets(True)
        broken, _ = await subscriptions.create_subscription(dead.url, ["*"])
        healthy, _ = await subscriptions.create_subscription(receiver.url, ["contact.created"])
        for index in range(3):
            await new_person(f"P{index}")
        await deliver(rapport)
        assert len(receiver.requests) == 3
        assert len(dead.requests) == 3  # one attempt each, then waiting for the back-off
    finally:
        dead.stop()
    assert (await subscriptions.get_subscription(broken["id"]))["failure_streak"] == 3
    assert (await subscriptions.get_subscription(healthy["id"]))["failure_streak"] == 0


async def test_pause_after_failing_for_hours_and_resume_sends_in_order(
    rapport, receiver, monkeypatch
):
    from rapport.users.accounts import create_user
    from rapport.web import live

    pushed: list[tuple[int, bytes]] = []

    async def capture(user_id: int, message: bytes) -> None:
        pushed.append((user_id, message))

    # The live transport is tested with a real server in tests/web/test_live.py; here we only
    # look at who is told what.
    monkeypatch.setattr(live, "_publish", capture)
    admin = await create_user("root@example.com", "Root", "admin-pass-123", "admin", "ru")
    await create_user("sam@example.com", "Sam", "staff-pass-123", "staff")
    receiver.default = 500
    subscription, _ = await subscribe(receiver)
    contact_id = await new_person("Paused")
    await deliver(rapport)
    # The failures began seven hours ago and this is the tenth in a row.
    await WebhookSubscription.update(
        {
            WebhookSubscription.failure_streak: outbound.PAUSE_AFTER_FAILURES - 1,
            WebhookSubscription.failing_since: dt.datetime.now(dt.UTC) - dt.timedelta(hours=7),
        }
    ).where(WebhookSubscription.id == subscription["id"])
    await time_passes(subscription["id"])
    await deliver(rapport)
    paused = await subscriptions.get_subscription(subscription["id"])
    assert paused["status"] == "paused"
    assert paused["status_reason"] == subscriptions.FAILING
    assert [user_id for user_id, _ in pushed] == [admin["id"]]  # admins only
    message = json.loads(pushed[0][1])["html"]
    assert "Вебхук приостановлен" in message and receiver.url in message
    assert f"/admin/webhooks/{subscription['id']}" in message

    # While paused nothing is sent, even when retries are due; new events wait too.
    await update_contact(contact_id, {"name": "Paused renamed"})
    await time_passes(subscription["id"])
    before = len(receiver.requests)
    await deliver(rapport)
    assert len(receiver.requests) == before

    receiver.default = 200
    await subscriptions.resume(subscription["id"])
    await deliver(rapport)
    delivered = [
        r.json()["type"]
        for r, code in zip(receiver.requests, receiver.answered, strict=True)
        if code == 200
    ]
    assert delivered == ["contact.created", "contact.updated"]


async def test_a_streak_shorter_than_the_pause_window_does_not_pause(rapport, receiver):
    receiver.default = 500
    subscription, _ = await subscribe(receiver)
    await new_person("Flaky")
    await deliver(rapport)
    await WebhookSubscription.update({WebhookSubscription.failure_streak: 50}).where(
        WebhookSubscription.id == subscription["id"]
    )
    await time_passes(subscription["id"])
    await deliver(rapport)
    assert (await subscriptions.get_subscription(subscription["id"]))["status"] == "active"


async def test_410_gone_unsubscribes_at_once(rapport, receiver):
    receiver.script = [410]
    subscription, _ = await subscribe(receiver)
    await new_person("Gone")
    await deliver(rapport)
    await new_person("After")
    await time_passes(subscription["id"])
    await deliver(rapport)
    assert receiver.answered == [410]
    gone = await subscriptions.get_subscription(subscription["id"])
    assert gone["status"] == "gone"
    assert [r["outcome"] for r in await attempts(subscription["id"])] == ["gone"]


async def test_redirects_are_not_followed(rapport, receiver):
    receiver.script = [302]
    subscription, _ = await subscribe(receiver)
    outcome = await outbound.ping(subscription["id"])
    assert outcome.outcome == "failed" and outcome.status_code == 302
    assert "redirects are not followed" in outcome.error
    assert len(receiver.requests) == 1


async def test_wildcards_pick_the_types(rapport, receiver):
    await subscriptions.allow_private_targets(True)
    await subscriptions.create_subscription(receiver.url, ["contact.updated"])
    contact_id = await new_person("Typed")
    await update_contact(contact_id, {"name": "Typed again"})
    await deliver(rapport)
    assert [r.json()["type"] for r in receiver.requests] == ["contact.updated"]


async def test_a_new_subscription_does_not_replay_history(rapport, receiver):
    await new_person("Before the subscription")
    await subscribe(receiver, ["*"])
    await new_person("After the subscription")
    await deliver(rapport)
    assert [r.json()["payload"].get("name") for r in receiver.requests] == [
        "After the subscription"
    ]


async def test_bad_subscriptions_are_refused_with_reasons(rapport):
    with pytest.raises(subscriptions.WebhookError) as caught:
        await subscriptions.create_subscription("ftp://example.com/x", ["nope!"])
    assert caught.value.errors == {"url": "url_scheme", "event_types": "types_invalid"}
    with pytest.raises(subscriptions.WebhookError) as caught:
        await subscriptions.create_subscription("https:///path", [])
    assert caught.value.errors == {"url": "url_host", "event_types": "types_empty"}
    assert await subscriptions.list_subscriptions() == []


async def test_a_hanging_receiver_does_not_slow_the_passes_of_another(rapport, receiver):
    """The worker's passes wait a bounded time: a turn still waiting on a receiver goes on in
    the background while the other subscriptions keep being delivered, pass after pass."""
    import asyncio

    hanging = Receiver()
    hanging.release.clear()
    try:
        await subscriptions.allow_private_targets(True)
        await subscriptions.create_subscription(hanging.url, ["*"])
        await subscriptions.create_subscription(receiver.url, ["contact.created"])
        delivery = Delivery(worker="test", options=OPTIONS)
        await new_person("First")
        await delivery.run_pass(rapport.plugins, patience=0.05)
        await asyncio.to_thread(hanging.holding.wait, 30)
        await new_person("Second")
        for _ in range(100):  # passes go on while the hanging turn waits
            await delivery.run_pass(rapport.plugins, patience=0.05)
            if len(receiver.requests) == 2:
                break
        assert [r.json()["payload"]["name"] for r in receiver.requests] == ["First", "Second"]
        assert delivery.busy and len(hanging.requests) == 1
        hanging.release.set()
        while delivery.busy:
            await delivery.run_pass(rapport.plugins, patience=1.0)
        await deliver_all(rapport.plugins, delivery)
        assert [r.json()["payload"]["name"] for r in hanging.requests] == ["First", "Second"]
    finally:
        hanging.release.set()
        hanging.stop()


async def test_the_attempt_log_keeps_thirty_days(rapport, receiver):
    from rapport.jobs.worker import run_once
    from rapport.webhooks import housekeeping

    subscription, _ = await subscribe(receiver)
    await outbound.ping(subscription["id"])
    await outbound.ping(subscription["id"])
    [old, recent] = await attempts(subscription["id"])
    await WebhookAttempt.update(
        {WebhookAttempt.attempted_at: dt.datetime.now(dt.UTC) - dt.timedelta(days=31)}
    ).where(WebhookAttempt.id == old["id"])
    assert await housekeeping.prune_attempt_log() == 1
    assert [a["id"] for a in await attempts(subscription["id"])] == [recent["id"]]
    # The job is declared and scheduled by the core.
    assert housekeeping.JOB_NAME in {j.name for j in rapport.plugins.collect("register_jobs")}
    summary = await run_once(rapport)
    assert "unknown_jobs_failed" in summary and summary["unknown_jobs_failed"] == 0
