"""Form-service webhooks (signed and shared-key), the inbox, the form builder, the events
of one submission, and the plugin's Russian catalog."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from rapport.api import LeadReceived, get_contact, gettext, match_contact, speaking
from rapport.testing import app_client, deliver_outbox, make_user, missing_translations, sign_in
from rapport_webforms.definitions import map_values
from rapport_webforms.events import FormSubmitted
from rapport_webforms.forms import create_form, form_by_id
from rapport_webforms.intake import take_submission
from rapport_webforms.tables import Submission

SECRET = "typeform-secret-0123456789"
PASSWORD = "admin-pass-123"
# The shape of a Typeform webhook (https://www.typeform.com/developers/webhooks/example-payload/),
# cut to what the mapping reads.
TYPEFORM = {
    "event_id": "01J0000000000000000000000",
    "event_type": "form_response",
    "form_response": {
        "form_id": "lT4Z3j",
        "hidden": {"utm_source": "instagram"},
        "answers": [
            {"type": "text", "text": "Lev Tolstoy", "field": {"ref": "name"}},
            {"type": "email", "email": "lev@yasnaya.example", "field": {"ref": "email"}},
            {"type": "phone_number", "phone_number": "+79161234567", "field": {"ref": "phone"}},
            {"type": "boolean", "boolean": True, "field": {"ref": "consent"}},
        ],
    },
}
MAPPING = {
    "name": "form_response.answers.0.text",
    "email": "form_response.answers.1.email",
    "phone": "form_response.answers.2.phone_number",
    "consent": "form_response.answers.3.boolean",
    "utm_source": "form_response.hidden.utm_source",
}


def _typeform_signature(body: bytes, secret: str = SECRET) -> str:
    # Typeform: "sha256=" + base64 of the HMAC-SHA256 of the raw body under the form's secret
    # (https://www.typeform.com/developers/webhooks/secure-your-webhooks/).
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


async def test_a_signed_form_service_payload_is_accepted_and_a_bad_signature_refused(
    rapport_settings,
):
    async with app_client(rapport_settings, "webforms") as client:
        form = client.run(
            lambda: create_form(
                "Typeform",
                hook_mode="hmac",
                hook_secret=SECRET,
                hook_mapping=MAPPING,
                source="typeform",
            )
        )
        body = json.dumps(TYPEFORM).encode()
        url = f"/forms/{form.key}/hook"
        headers = {"content-type": "application/json"}
        bad = await client.post(
            url,
            content=body,
            headers={
                **headers,
                "Typeform-Signature": _typeform_signature(body, "another-secret-xxxxx"),
            },
        )
        assert bad.status_code == 401 and "signature" in bad.json()["detail"]
        unsigned = await client.post(url, content=body, headers=headers)
        assert unsigned.status_code == 401
        tampered = await client.post(
            url,
            content=body.replace(b"Lev", b"Leo"),
            headers={**headers, "Typeform-Signature": _typeform_signature(body)},
        )
        assert tampered.status_code == 401
        assert client.run(lambda: Submission.count()) == 0

        good = await client.post(
            url, content=body, headers={**headers, "Typeform-Signature": _typeform_signature(body)}
        )
        assert good.status_code == 201, good.text
        assert good.json()["status"] == "received"  # durable now, processed by the worker
        assert client.run(deliver_outbox) >= 1
        row = client.run(lambda: Submission.select().first().output(load_json=True))
        contact = client.run(lambda: get_contact(row["contact_id"]))
        assert contact["name"] == "Lev Tolstoy" and contact["source"] == "typeform"
        assert [p["e164"] for p in contact["phones"]] == ["+79161234567"]
        assert contact["custom"]["last_utm_source"] == "instagram"
        row = client.run(lambda: Submission.select().first().output(load_json=True))
        assert row["channel"] == "webhook" and row["raw"]["payload"] == TYPEFORM


async def test_a_shared_key_service_and_an_unreadable_payload_kept_for_review(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        form = client.run(
            lambda: create_form(
                "Tilda",
                hook_mode="shared_key",
                hook_secret="k" * 24,
                hook_mapping={"name": "Name", "phone": "Phone", "consent": "ok"},
            )
        )
        url = f"/forms/{form.key}/hook"
        wrong = await client.post(url + "?key=nope", data={"Name": "Ivan", "Phone": "89001112233"})
        assert wrong.status_code == 401
        accepted = await client.post(
            url + "?key=" + "k" * 24, data={"Name": "Ivan", "Phone": "89001112233", "ok": "on"}
        )
        assert accepted.status_code == 201
        client.run(deliver_outbox)
        assert client.run(lambda: match_contact(phone="+79001112233")) is not None
        # A payload the mapping cannot read is kept (status invalid) and answered 422.
        broken = await client.post(
            url, data={"Name": "Ivan", "Phone": "12"}, headers={"x-webhook-key": "k" * 24}
        )
        assert broken.status_code == 422 and "phone" in broken.json()["errors"]
        statuses = client.run(lambda: Submission.select(Submission.status).order_by(Submission.id))
        assert [s["status"] for s in statuses] == ["created", "invalid"]


async def test_the_inbox_filters_shows_raw_and_marks_spam_and_not_spam(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        client.run(lambda: make_user("boss@example.com", "Boss", "manager", PASSWORD))
        form = client.run(lambda: create_form("Contact", min_fill_seconds=0))
        other = client.run(lambda: create_form("Partners", min_fill_seconds=0))
        page = await client.get(f"/forms/{form.key}")
        token = page.text.split('name="_t" value="')[1].split('"')[0]
        trap = {
            "_t": token,
            "name": "Bot",
            "email": "bot@example.com",
            "consent": "on",
            "website_url": "http://spam.example",
        }
        assert (await client.post(f"/forms/{form.key}/submit", data=trap)).status_code == 400
        real = {"_t": token, "name": "Vera", "email": "vera@example.com", "consent": "on"}
        assert (await client.post(f"/forms/{form.key}/submit", data=real)).status_code == 200

        token_csrf = await sign_in(client, "boss@example.com", PASSWORD)
        inbox = await client.get("/webforms/inbox")
        assert inbox.status_code == 200
        assert "1 submission refused as spam." in inbox.text
        assert inbox.text.count("data-submission=") == 2
        only_spam = await client.get("/webforms/inbox?spam=yes")
        assert only_spam.text.count('data-status="spam"') == 1
        assert "Hidden field filled in" in only_spam.text
        assert (await client.get(f"/webforms/inbox?form={other.id}")).text.count(
            "data-submission="
        ) == 0

        spam_id = client.run(
            lambda: Submission.select(Submission.id).where(Submission.status == "spam").first()
        )["id"]
        raw = await client.get(f"/webforms/submissions/{spam_id}")
        assert "http://spam.example" in raw.text  # the raw payload, escaped, as received
        # A person decides it was not spam: it is taken in, the contact appears.
        await client.post(
            f"/webforms/submissions/{spam_id}/reprocess", data={"_csrf_token": token_csrf}
        )
        assert client.run(lambda: match_contact(email="bot@example.com")) is not None
        status = client.run(
            lambda: Submission.select(Submission.status).where(Submission.id == spam_id).first()
        )
        assert status["status"] == "created"
        await client.post(f"/webforms/submissions/{spam_id}/spam", data={"_csrf_token": token_csrf})
        assert "2 submissions refused as spam." not in (await client.get("/webforms/inbox")).text
        assert 'data-status="spam"' in (await client.get("/webforms/inbox")).text


async def test_staff_cannot_see_the_inbox_or_the_builder(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        client.run(lambda: make_user("staff@example.com", "Sam", "staff", PASSWORD))
        await sign_in(client, "staff@example.com", PASSWORD)
        assert (await client.get("/webforms/inbox")).status_code == 403
        assert (await client.get("/webforms")).status_code == 403
    async with app_client(rapport_settings) as client:  # disabled: the routes are gone
        assert (await client.get("/forms/anything")).status_code == 404


async def test_the_builder_creates_and_saves_a_form_and_keeps_input_on_errors(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        client.run(lambda: make_user("root@example.com", "Root", "admin", PASSWORD))
        token = await sign_in(client, "root@example.com", PASSWORD)
        created = await client.post(
            "/webforms",
            data={"_csrf_token": token, "title": "Quote", "language": "ru"},
            follow_redirects=False,
        )
        assert created.status_code in (302, 303)
        form_id = int(created.headers["location"].rsplit("/", 1)[1])
        editor = await client.get(f"/webforms/{form_id}")
        assert "data-rapport-form=" in editor.text and "?embed=1" in editor.text

        fields = {
            "name_on": "on",
            "name_required": "on",
            "name_label_en": "Name",
            "name_label_ru": "Имя",
            "phone_on": "on",
            "phone_label_en": "Phone",
            "phone_label_ru": "Телефон",
        }
        refused = await client.post(
            f"/webforms/{form_id}",
            data={
                "_csrf_token": token,
                "title": "Quote request",
                "language": "ru",
                "allowed_origins": "not a site",
                "min_fill_seconds": "3",
                **fields,
            },
        )
        assert refused.status_code == 400
        assert "like https://www.example.com" in refused.text
        assert 'value="Quote request"' in refused.text  # what was typed stays
        saved = await client.post(
            f"/webforms/{form_id}",
            data={
                "_csrf_token": token,
                "title": "Quote request",
                "language": "ru",
                "active": "on",
                "allowed_origins": "https://Shop.Example:443/contacts",
                "min_fill_seconds": "3",
                "tags": "quote, b2b",
                "source": "site",
                **fields,
            },
            follow_redirects=False,
        )
        assert saved.status_code in (302, 303)
        form = client.run(lambda: form_by_id(form_id))
        assert form.title == "Quote request" and form.allowed_origins == ["https://shop.example"]
        assert [f.kind for f in form.fields] == ["name", "phone"]
        assert form.fields[0].label == {"en": "Name", "ru": "Имя"} and form.fields[0].required
        assert form.tags == ["quote", "b2b"]


@pytest.mark.enable("webforms")
async def test_one_submission_publishes_both_events_after_one_commit(rapport, captured_events):
    form = await create_form(
        "Events", min_fill_seconds=0, pipeline="B2B", stage="Incoming", source="site"
    )
    mapped = map_values(
        form.fields, {"name": "Oleg", "email": "oleg@example.com", "consent": "on"}, "en"
    )
    context = {
        "first": {"utm_source": "yandex"},
        "last": {"utm_source": "yandex"},
        "referrer": "",
        "landing_page": "",
    }
    outcome = await take_submission(form, mapped, {"values": {}}, context, "snippet", "192.0.2.9")
    submitted = [e for e, _ in captured_events if isinstance(e, FormSubmitted)]
    leads = [e for e, _ in captured_events if isinstance(e, LeadReceived)]
    assert len(submitted) == 1 and len(leads) == 1
    assert submitted[0].contact_id == outcome.contact_id and submitted[0].created
    assert submitted[0].values["email"] == "oleg@example.com"
    lead = leads[0]
    assert (lead.pipeline, lead.stage, lead.source, lead.origin) == (
        "B2B",
        "Incoming",
        "site",
        "webforms",
    )
    assert lead.utm["first"] == {"utm_source": "yandex"}
    # The same outbox transaction: both events carry consecutive ids after the contact's.
    ids = [meta.id for _, meta in captured_events]
    assert ids == sorted(ids)


def test_every_string_of_the_plugin_is_translated_to_russian():
    package = Path(__file__).resolve().parents[1] / "rapport_webforms"
    missing = missing_translations(package)
    assert not missing, "untranslated:\n" + "\n".join(f"{w}: {m!r}" for m, w in missing.items())
    # Labels the plugin declares (activity kind, permissions, custom fields) are shown
    # through gettext too.
    from rapport_webforms import plugin

    declared = [k.label for k in plugin.register_activity_kinds()]
    declared += [p.description for p in plugin.register_permissions()]
    declared += [f.label for f in plugin.register_custom_fields()]
    with speaking("ru"):
        assert all(gettext(label) != label for label in declared), declared
