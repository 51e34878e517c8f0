"""The webhook admin pages over HTTP, against the real app, database and a real receiver."""

from __future__ import annotations

import re

from rapport.contacts.service import create_contact
from rapport.events.delivery import Delivery, DeliveryOptions, deliver_all
from rapport.runtime import current
from rapport.testing import in_app, sign_in_as
from rapport.webhooks import subscriptions
from rapport.webhooks.signing import verify_signature

SECRET = re.compile(r'value="(whsec_[^"]+)" data-secret')


def deliver(client) -> None:
    in_app(
        client,
        lambda: deliver_all(current().plugins, Delivery("pages", DeliveryOptions(budget=5.0))),
    )


def post(client, path: str, **data):
    return client.post(path, data={"_csrf_token": client.user["csrf_token"], **data})


async def test_create_shows_the_secret_once_and_the_log_redelivers(admin_client, receiver):
    client = admin_client
    response = await post(client, "/admin/webhooks/settings", allow_private="on")
    assert response.status_code == 200  # followed the redirect to the list
    assert 'id="allow_private" name="allow_private" type="checkbox" checked' in response.text

    created = await post(
        client, "/admin/webhooks", url=receiver.url, event_types="contact.*", description="Books"
    )
    assert created.status_code == 200
    secret = SECRET.search(created.text).group(1)
    assert "shown only once" in created.text
    [subscription] = in_app(client, subscriptions.list_subscriptions)
    assert subscription["event_types"] == ["contact.*"]
    page = await client.get(f"/admin/webhooks/{subscription['id']}")
    assert secret not in page.text  # never shown again

    in_app(client, lambda: create_contact({"kind": "person", "name": "Logged"}))
    deliver(client)
    assert len(receiver.requests) == 1
    event_id = receiver.requests[0].json()["id"]
    assert verify_signature(
        secret, receiver.requests[0].headers["rapport-signature"], receiver.requests[0].body
    )

    log = await client.get(f"/admin/webhooks/{subscription['id']}")
    assert f'data-event="{event_id}" data-outcome="delivered"' in log.text
    redelivered = await post(
        client, f"/admin/webhooks/{subscription['id']}/events/{event_id}/redeliver"
    )
    assert 'data-sent="delivered"' in redelivered.text
    assert receiver.ids() == [event_id, event_id]
    assert redelivered.text.count(f'data-event="{event_id}"') == 2
    assert "Redelivery" in redelivered.text


async def test_bad_input_is_shown_next_to_the_fields_and_kept(admin_client):
    response = await post(
        admin_client, "/admin/webhooks", url="ftp://files.example.com", event_types="contact.?"
    )
    assert response.status_code == 400
    assert 'id="url-error">The address must start with https:// or http://.' in response.text
    assert 'id="event_types-error">Use event types such as contact.created' in response.text
    assert 'value="ftp://files.example.com"' in response.text
    assert in_app(admin_client, subscriptions.list_subscriptions) == []


async def test_ping_rotate_pause_resume_and_the_banner(admin_client, receiver):
    client = admin_client
    in_app(client, lambda: subscriptions.allow_private_targets(True))
    subscription, old = in_app(
        client, lambda: subscriptions.create_subscription(receiver.url, ["*"])
    )
    base = f"/admin/webhooks/{subscription['id']}"

    # A rotation keeps the old secret signing for a day, so the receiver can switch over.
    rotated = await post(client, f"{base}/rotate")
    new = SECRET.search(rotated.text).group(1)
    assert new != old and "data-old-secret" in rotated.text
    pinged = await post(client, f"{base}/ping")
    assert 'data-sent="delivered"' in pinged.text and "data-old-secret" in pinged.text
    ping = receiver.requests[-1]
    assert ping.json()["type"] == "webhook.ping"
    assert ping.headers["rapport-signature"].count("v1=") == 2
    assert verify_signature(new, ping.headers["rapport-signature"], ping.body)
    assert verify_signature(old, ping.headers["rapport-signature"], ping.body)

    ended = await post(client, f"{base}/end-old-secret")
    assert "Only the current secret signs" in ended.text and "data-old-secret" not in ended.text
    await post(client, f"{base}/ping")
    ping = receiver.requests[-1]
    assert verify_signature(new, ping.headers["rapport-signature"], ping.body)
    assert not verify_signature(old, ping.headers["rapport-signature"], ping.body)

    # A leaked secret is ended at once: no grace.
    leaked = await post(client, f"{base}/rotate", old="now")
    newest = SECRET.search(leaked.text).group(1)
    assert "data-old-secret" not in leaked.text
    await post(client, f"{base}/ping")
    ping = receiver.requests[-1]
    assert ping.headers["rapport-signature"].count("v1=") == 1
    assert verify_signature(newest, ping.headers["rapport-signature"], ping.body)
    assert not verify_signature(new, ping.headers["rapport-signature"], ping.body)

    paused = await post(client, f"{base}/pause")
    assert 'data-status="paused"' in paused.text and "An administrator paused it." in paused.text
    listing = await client.get("/admin/webhooks")
    assert f'data-webhook-alert="{subscription["id"]}"' in listing.text
    assert "Paused: " + receiver.url in listing.text
    resumed = await post(client, f"{base}/resume")
    assert 'data-status="active"' in resumed.text
    assert "data-webhook-alert" not in (await client.get("/admin/webhooks")).text


async def test_pages_in_russian(admin_client):
    from rapport.users.tables import User

    in_app(
        admin_client,
        lambda: User.update({User.language: "ru"}).where(User.id == admin_client.user["id"]),
    )
    page = await admin_client.get("/admin/webhooks")
    assert "Вебхуки" in page.text and "Разрешить частные и локальные адреса" in page.text


async def test_only_settings_managers_reach_the_pages(web_client):
    user = await sign_in_as(web_client, "staff")
    assert (await web_client.get("/admin/webhooks")).status_code == 403
    response = await web_client.post(
        "/admin/webhooks",
        data={"_csrf_token": user["csrf_token"], "url": "https://example.com", "event_types": "*"},
    )
    assert response.status_code == 403
    assert in_app(web_client, subscriptions.list_subscriptions) == []
    await sign_in_as(web_client, "admin")
    assert (await web_client.get("/admin/webhooks")).status_code == 200


async def test_the_old_secret_stops_signing_when_its_grace_ends(rapport):
    import datetime as dt

    subscription, old = await subscriptions.create_subscription("https://books.example", ["*"])
    new = await subscriptions.rotate_secret(subscription["id"], dt.timedelta(hours=1))
    current_row = await subscriptions.get_subscription(subscription["id"])
    now = dt.datetime.now(dt.UTC)
    assert subscriptions.signing_secrets(current_row, now) == [new, old]
    later = now + dt.timedelta(hours=1, seconds=1)
    assert subscriptions.signing_secrets(current_row, later) == [new]
