"""The intake over HTTP against the real app and database: the snippet's JSON, the plain
form, matching, spam defences, limits, and the 503 that loses nothing."""

from __future__ import annotations

import sqlite3

from rapport.api import add_assignment_rule, get_contact, match_contact, timeline
from rapport.testing import app_client, deliver_outbox, make_user, set_away
from rapport_webforms.forms import create_form
from rapport_webforms.tables import Submission

SITE = "https://www.shop.example"
UTM_FIRST = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "winter"}
UTM_LAST = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "december"}


async def _config(client, form, origin: str = SITE) -> dict:
    response = await client.get(f"/forms/{form.key}/config", headers={"origin": origin})
    assert response.status_code == 200, response.text
    return response.json()


async def _send(
    client,
    form,
    values: dict,
    *,
    origin: str = SITE,
    token: str | None = None,
    context: dict | None = None,
    lang: str = "en",
    process: bool = True,
):
    """Submit as the snippet does; then, unless ``process=False``, let the worker's consumer
    process what was accepted."""
    if token is None:
        token = (await _config(client, form, origin))["token"]
    response = await client.post(
        f"/forms/{form.key}/submit",
        json={"values": values, "context": context or {}, "_t": token, "lang": lang},
        headers={"origin": origin},
    )
    if process and response.status_code == 201:
        client.run(deliver_outbox)
    return response


def _form(client, **values):
    values.setdefault("min_fill_seconds", 0)
    values.setdefault("allowed_origins", [SITE])
    values.setdefault("source", "website")
    return client.run(lambda: create_form("Contact us", **values))


ANNA = {
    "name": "Anna Smirnova",
    "email": "anna@example.com",
    "phone": "+7 912 345-67-89",
    "company": "Acme",
    "message": "Please call me about the winter catalogue.",
    "consent": "on",
}


async def test_a_snippet_submission_creates_an_assigned_contact_with_its_attribution(
    rapport_settings,
):
    async with app_client(rapport_settings, "webforms") as client:
        rep = client.run(lambda: make_user("rep@example.com", "Rita Rep"))
        client.run(
            lambda: add_assignment_rule(
                "Web leads", "source", match_values=["website"], target_user=rep
            )
        )
        form = _form(client, tags=["web", "winter"])
        context = {
            "first": UTM_FIRST,
            "last": UTM_LAST,
            "referrer": "https://google.com/",
            "landing_page": f"{SITE}/catalogue?utm_source=newsletter",
        }
        response = await _send(client, form, ANNA, context=context)
        assert response.status_code == 201, response.text
        assert response.headers["access-control-allow-origin"] == SITE

        found = client.run(lambda: match_contact(email="ANNA@example.com"))
        contact = client.run(lambda: get_contact(found.id))
        assert contact["name"] == "Anna Smirnova" and contact["source"] == "website"
        assert contact["owner"] == rep
        assert sorted(contact["tags"]) == ["web", "winter"]
        assert [p["e164"] for p in contact["phones"]] == ["+79123456789"]
        assert contact["custom"]["utm_source"] == "google"  # first touch
        assert contact["custom"]["utm_campaign"] == "winter"
        assert contact["custom"]["last_utm_source"] == "newsletter"  # last touch
        assert contact["custom"]["company_name"] == "Acme"
        assert contact["custom"]["referrer"] == "https://google.com/"

        entries = client.run(lambda: timeline(found.id))
        kinds = {e["kind"]: e for e in entries}
        assert kinds["form_submitted"]["body"] == ANNA["message"]
        assert kinds["form_submitted"]["payload"]["form_title"] == "Contact us"
        assert "Web leads" in kinds["assignment"]["body"]

        row = client.run(lambda: Submission.select().first().output(load_json=True))
        assert row["status"] == "created" and row["contact_id"] == found.id
        assert row["raw"]["values"]["phone"] == "+7 912 345-67-89"  # as received
        assert row["mapped"]["phone_e164"] == "+79123456789"  # as mapped
        assert row["assigned_to"] == rep and row["channel"] == "snippet"


async def test_the_same_visitor_with_the_phone_in_another_format_is_matched(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        form = _form(client)
        assert (await _send(client, form, ANNA)).status_code == 201
        again = {
            **ANNA,
            "name": "Anna S.",
            "email": "anna.work@example.com",
            "phone": "8 (912) 345 67 89",
            "company": "Acme Trading",
        }
        assert (await _send(client, form, again)).status_code == 201

        rows = client.run(
            lambda: Submission.select().order_by(Submission.id).output(load_json=True)
        )
        assert [r["status"] for r in rows] == ["created", "attached"]
        assert rows[0]["contact_id"] == rows[1]["contact_id"]
        contact = client.run(lambda: get_contact(rows[0]["contact_id"]))
        # Nothing silently overwritten: the name and company stay, the differences wait.
        assert contact["name"] == "Anna Smirnova"
        assert contact["custom"]["company_name"] == "Acme"
        assert rows[1]["differences"] == {
            "name": ["Anna Smirnova", "Anna S."],
            "company_name": ["Acme", "Acme Trading"],
        }
        # The new channel is added; the phone is not doubled.
        assert [e["email"] for e in contact["emails"]] == [
            "anna@example.com",
            "anna.work@example.com",
        ]
        assert len(contact["phones"]) == 1


async def test_round_robin_skips_the_away_rep_and_the_assignee_is_the_owner(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        team = [
            client.run(lambda n=n: make_user(f"{n}@example.com", n.title()))
            for n in ("olga", "pavel", "sasha")
        ]
        client.run(lambda: set_away(team[1]))
        rule = client.run(lambda: add_assignment_rule("Sales", "round_robin", user_ids=team))
        form = _form(client, rule_id=rule)
        owners = []
        for index in range(4):
            person = {
                **ANNA,
                "email": f"lead{index}@example.com",
                "phone": f"+7 900 000-00-0{index}",
            }
            assert (await _send(client, form, person)).status_code == 201
            found = client.run(lambda p=person: match_contact(email=p["email"]))
            owners.append(found.owner_id)
        assert owners == [team[0], team[2], team[0], team[2]]


async def test_a_city_field_routes_the_lead_to_the_territorys_rep(rapport_settings):
    fields = [
        {"key": "name", "kind": "name", "required": True, "label": {"en": "Name"}},
        {"key": "phone", "kind": "phone", "required": True, "label": {"en": "Phone"}},
        {"key": "city", "kind": "city", "required": False, "label": {"en": "City"}},
        {"key": "country", "kind": "country", "required": False, "label": {"en": "Country"}},
    ]
    async with app_client(rapport_settings, "webforms") as client:
        kazan = client.run(lambda: make_user("kazan@example.com", "Kazan Rep"))
        boss = client.run(lambda: make_user("boss@example.com", "Boss"))
        client.run(
            lambda: add_assignment_rule(
                "Tatarstan",
                "territory",
                match_field="city",
                match_values=["Kazan", "Казань"],
                target_user=kazan,
            )
        )
        client.run(lambda: add_assignment_rule("Others", "fallback", target_user=boss))
        form = _form(client, fields=fields)
        sent = await _send(
            client,
            form,
            {"name": "Rustam", "phone": "+7 843 200-00-01", "city": "казань", "country": "Россия"},
        )
        assert sent.status_code == 201
        other = await _send(
            client, form, {"name": "Oleg", "phone": "+7 383 200-00-02", "city": "Novosibirsk"}
        )
        assert other.status_code == 201
        bad = await _send(
            client, form, {"name": "X", "phone": "+7 383 200-00-03", "country": "Narnia"}
        )
        assert bad.status_code == 422 and "two-letter code" in bad.json()["errors"]["country"]

        found = client.run(lambda: match_contact(phone="+78432000001"))
        rustam = client.run(lambda: get_contact(found.id))
        assert (rustam["owner"], rustam["city"], rustam["country"]) == (kazan, "казань", "RU")
        oleg = client.run(lambda: match_contact(phone="+73832000002"))
        assert oleg.owner_id == boss
        entries = client.run(lambda: timeline(rustam["id"]))
        decision = next(e for e in entries if e["kind"] == "assignment")
        assert decision["payload"]["reason"] == "city = казань"


async def test_field_errors_come_back_in_the_forms_language(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        form = _form(client, language="ru")
        response = await _send(client, form, {"name": "", "email": "not-an-email"}, lang="ru")
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert errors["name"] == "Заполните это поле."
        assert errors["consent"] == "Отметьте, чтобы отправить форму."
        assert "name@example.com" in errors["email"]
        english = await _send(client, form, {"name": ""}, lang="en")
        assert english.json()["errors"]["name"] == "Please fill in this field."
        assert client.run(lambda: Submission.count()) == 0


async def test_honeypot_and_too_fast_are_refused_and_counted_as_spam(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        form = _form(client)
        trap = await _send(client, form, {**ANNA, "website_url": "http://spam.example"})
        assert trap.status_code == 422 and trap.json()["errors"]["_reason"] == "honeypot"
        slow_form = _form(client, min_fill_seconds=120)
        fast = await _send(client, slow_form, ANNA)
        assert fast.status_code == 422 and fast.json()["errors"]["_reason"] == "too_fast"
        forged = await _send(client, form, ANNA, token="1700000000.forged")
        assert forged.status_code == 422

        rows = client.run(
            lambda: Submission.select(Submission.status, Submission.spam_reason).order_by(
                Submission.id
            )
        )
        assert rows == [
            {"status": "spam", "spam_reason": "honeypot"},
            {"status": "spam", "spam_reason": "too_fast"},
            {"status": "spam", "spam_reason": "forged"},
        ]
        assert client.run(lambda: match_contact(email=ANNA["email"])) is None


async def test_rate_limit_size_limit_and_origin_check(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        form = _form(client)
        token = (await _config(client, form))["token"]
        assert (
            await client.get(
                f"/forms/{form.key}/config", headers={"origin": "https://evil.example"}
            )
        ).status_code == 403
        foreign = await _send(client, form, ANNA, origin="https://evil.example", token=token)
        assert foreign.status_code == 403
        assert "access-control-allow-origin" not in foreign.headers
        preflight = await client.options(
            f"/forms/{form.key}/submit",
            headers={"origin": SITE, "access-control-request-method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == SITE

        huge = await client.post(
            f"/forms/{form.key}/submit",
            content=b'{"values": {"message": "' + b"x" * 70_000 + b'"}}',
            headers={"origin": SITE, "content-type": "application/json"},
        )
        assert huge.status_code == 413

        answers = []
        for index in range(31):
            person = {**ANNA, "email": f"p{index}@example.com", "phone": ""}
            answers.append(await _send(client, form, person, token=token))
        statuses = [a.status_code for a in answers]
        assert statuses.count(429) >= 1 and 429 not in statuses[:28]
        limited = next(a for a in answers if a.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1


async def test_the_plain_html_form_works_without_javascript(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        form = _form(client, thank_you="Спасибо, мы перезвоним!", language="ru")
        page = await client.get(f"/forms/{form.key}")
        assert page.status_code == 200
        assert 'name="_t"' in page.text and 'for="rf-name"' in page.text
        assert f"frame-ancestors 'self' {SITE}" in page.headers["content-security-policy"]
        token = page.text.split('name="_t" value="')[1].split('"')[0]
        refused = await client.post(
            f"/forms/{form.key}/submit",
            data={"_t": token, "name": "Boris", "email": "broken@", "consent": "on"},
        )
        assert refused.status_code == 400
        assert 'id="rf-email-error"' in refused.text and 'value="Boris"' in refused.text
        accepted = await client.post(
            f"/forms/{form.key}/submit",
            data={
                "_t": token,
                "name": "Boris",
                "phone": "89123334455",
                "consent": "on",
                "utm_source": "vk",
            },
        )
        assert accepted.status_code == 200 and "Спасибо, мы перезвоним!" in accepted.text
        client.run(deliver_outbox)
        found = client.run(lambda: match_contact(phone="+79123334455"))
        assert found is not None
        contact = client.run(lambda: get_contact(found.id))
        assert contact["custom"]["last_utm_source"] == "vk"


async def test_with_the_funnel_absent_the_contact_and_activity_still_land(rapport_settings):
    # No funnel plugin in this environment: lead.received has no taker, the intake still works.
    async with app_client(rapport_settings, "webforms") as client:
        form = _form(client, pipeline="Sales", stage="New")
        assert (await _send(client, form, ANNA)).status_code == 201
        found = client.run(lambda: match_contact(email=ANNA["email"]))
        kinds = [e["kind"] for e in client.run(lambda: timeline(found.id))]
        assert "form_submitted" in kinds


def _sqlite_path(settings) -> str:
    return settings.database_url[len("sqlite:///") :]


async def test_a_locked_database_gets_503_and_nothing_is_half_written(rapport_settings):
    async with app_client(rapport_settings, "webforms") as client:
        form = _form(client)
        token = (await _config(client, form))["token"]
        if rapport_settings.database_url.startswith("sqlite"):
            blocker = sqlite3.connect(_sqlite_path(rapport_settings), timeout=0)
            blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        else:
            import asyncpg

            url = rapport_settings.database_url
            blocker = await asyncpg.connect(url)
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE webforms_submission IN ACCESS EXCLUSIVE MODE")

        try:
            response = await _send(client, form, ANNA, token=token)
        finally:
            if rapport_settings.database_url.startswith("sqlite"):
                blocker.rollback()
                blocker.close()
            else:
                await transaction.rollback()
                await blocker.close()
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["access-control-allow-origin"] == SITE
        # Nothing of it was kept: no contact, no submission, no activity.
        assert client.run(lambda: match_contact(email=ANNA["email"])) is None
        assert client.run(lambda: Submission.count()) == 0
        # The snippet retries after Retry-After: now it goes through.
        retried = await _send(client, form, ANNA, token=token)
        assert retried.status_code == 201
        assert client.run(lambda: Submission.count()) == 1


async def test_a_submission_is_durable_at_201_and_processed_by_the_worker_in_order(
    rapport_settings,
):
    async with app_client(rapport_settings, "webforms") as client:
        form = _form(client)
        people = [{**ANNA, "email": f"p{i}@example.com", "phone": ""} for i in range(3)]
        for person in people:
            answer = await _send(client, form, person, process=False)
            assert answer.status_code == 201
        rows = client.run(
            lambda: Submission.select(Submission.status, Submission.contact_id).order_by(
                Submission.id
            )
        )
        # Acknowledged and stored, nothing made yet: the worker's consumer does that.
        assert rows == [{"status": "received", "contact_id": None}] * 3
        assert client.run(lambda: match_contact(email="p0@example.com")) is None

        assert client.run(deliver_outbox) == 3
        rows = client.run(
            lambda: Submission.select(Submission.status, Submission.contact_id).order_by(
                Submission.id
            )
        )
        assert [r["status"] for r in rows] == ["created"] * 3
        # In submission order: the contacts were made in the order the visitors sent.
        contacts = [r["contact_id"] for r in rows]
        assert contacts == sorted(contacts)
        assert client.run(lambda: match_contact(email="p2@example.com")).id == contacts[2]
        assert client.run(deliver_outbox) == 0  # nothing left, nothing done twice


async def test_a_crash_while_processing_leaves_nothing_half_done_and_the_retry_is_exact(
    rapport_settings, monkeypatch
):
    from rapport_webforms import intake

    async with app_client(rapport_settings, "webforms") as client:
        form = _form(client)
        assert (await _send(client, form, ANNA, process=False)).status_code == 201
        original = intake.log_activity

        async def crash(*args, **kwargs):
            await original(*args, **kwargs)  # the contact and the activity are written…
            raise sqlite3.OperationalError("database is locked")  # …then the database fails

        monkeypatch.setattr(intake, "log_activity", crash)
        client.run(deliver_outbox)
        # Rolled back as one: no contact, no activity, still waiting.
        assert client.run(lambda: match_contact(email=ANNA["email"])) is None
        assert client.run(lambda: Submission.select(Submission.status).first()) == {
            "status": "received"
        }
        monkeypatch.setattr(intake, "log_activity", original)
        submission_id = client.run(lambda: Submission.select(Submission.id).first())["id"]
        first = client.run(lambda: intake.process_submission(submission_id))
        again = client.run(lambda: intake.process_submission(submission_id))  # a redelivery
        assert first is not None and first.created and again is None
        found = client.run(lambda: match_contact(email=ANNA["email"]))
        entries = client.run(lambda: timeline(found.id))
        assert [e["kind"] for e in entries].count("form_submitted") == 1


async def test_a_processing_error_is_shown_in_the_inbox_and_can_be_retried(
    rapport_settings, monkeypatch
):
    from rapport.testing import sign_in
    from rapport_webforms import intake

    async with app_client(rapport_settings, "webforms") as client:
        client.run(lambda: make_user("boss@example.com", "Boss", "manager", "boss-password-1"))
        form = _form(client)
        assert (await _send(client, form, ANNA, process=False)).status_code == 201

        async def broken(*args, **kwargs):
            raise ValueError("the assignment rule names a user who left")

        monkeypatch.setattr(intake, "choose_owner", broken)
        client.run(deliver_outbox)
        row = client.run(lambda: Submission.select(Submission.id, Submission.status).first())
        assert row["status"] == "failed"

        csrf = await sign_in(client, "boss@example.com", "boss-password-1")
        page = await client.get(f"/webforms/submissions/{row['id']}")
        assert 'data-status="failed"' in page.text and "Processing failed" in page.text
        assert "ValueError: the assignment rule names a user who left" in page.text
        inbox = await client.get("/webforms/inbox?status=failed")
        assert f'data-submission="{row["id"]}" data-status="failed"' in inbox.text

        monkeypatch.undo()
        retried = await client.post(
            f"/webforms/submissions/{row['id']}/reprocess", data={"_csrf_token": csrf}
        )
        assert 'data-status="created"' in retried.text and "data-error" not in retried.text
        assert client.run(lambda: match_contact(email=ANNA["email"])) is not None
