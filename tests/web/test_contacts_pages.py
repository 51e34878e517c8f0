"""Contact pages over HTTP: the list, the forms, the card, its timeline and record visibility,
against the real app on a real database."""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from litestar.testing import AsyncTestClient
from rapport.activities.service import log_activity
from rapport.contacts.service import archive_contact, create_contact, get_contact
from rapport.plugins.registry import PluginRegistry
from rapport.web.app import create_app

PASSWORD = "contacts-pass-1"
USERS = {
    "admin": ("admin@contacts.example", "Ada Admin", "admin"),
    "manager": ("manager@contacts.example", "Max Manager", "manager"),
    "staff": ("staff@contacts.example", "Sam Staff", "staff"),
    "staff2": ("staff2@contacts.example", "Sofia Staff", "staff"),
}
HTMX = {"HX-Request": "true"}
T = TypeVar("T")


@dataclass
class Site:
    """A client on the app, the test users' ids, and the CSRF token of the signed-in user."""

    client: Any
    ids: dict[str, int]
    token: str = ""

    async def sign_in(self, who: str) -> None:
        """Sign in as ``who`` (after signing out whoever was in): the real login form."""
        self.client.cookies.clear()
        login = await self.client.get("/login")
        self.token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
        answer = await self.client.post(
            "/login",
            data={"email": USERS[who][0], "password": PASSWORD, "_csrf_token": self.token},
            follow_redirects=False,
        )
        assert answer.status_code in (302, 303), answer.text

    async def do(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run database work in the app's event loop: the test client serves the app from a
        thread of its own, and a PostgreSQL pool belongs to the loop that opened it."""

        async def run() -> T:
            return await func(*args, **kwargs)

        return self.client.blocking_portal.call(run)

    async def post(self, url: str, data: dict[str, Any], htmx: bool = False, **kwargs: Any):
        headers = {**HTMX, "x-csrftoken": self.token} if htmx else {}
        return await self.client.post(
            url,
            data={**data, "_csrf_token": self.token},
            headers=headers,
            follow_redirects=False,
            **kwargs,
        )


@pytest.fixture
async def site(rapport_settings):
    from rapport.users.accounts import create_user

    app = create_app(rapport_settings, PluginRegistry())
    async with AsyncTestClient(app) as client:
        state = Site(client, {})
        for key, (email, name, role) in USERS.items():
            state.ids[key] = (await state.do(create_user, email, name, PASSWORD, role))["id"]
        await state.sign_in("admin")
        yield state


def _ids_on(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-contact="(\d+)"', page)]


def _next_link(page: str) -> str | None:
    found = re.search(r'href="([^"]+)" rel="next"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def _form(**fields: str) -> dict[str, str]:
    """A contact form as the browser sends it: two email and two phone rows."""
    base = {
        "kind": "person",
        "first_name": "",
        "last_name": "",
        "company": "",
        "position": "",
        "email-0": "",
        "email-0-label": "work",
        "email-1": "",
        "email-1-label": "work",
        "phone-0": "",
        "phone-0-label": "mobile",
        "phone-1": "",
        "phone-1-label": "mobile",
        "street": "",
        "city": "",
        "region": "",
        "postcode": "",
        "country": "",
        "source": "",
        "owner_id": "",
        "tags": "",
        "version": "",
    }
    return {**base, **fields}


# --- the list -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["name", "recent"])
async def test_the_list_walks_70_contacts_by_keyset_without_duplicates_or_misses(site, sort):
    created = set()
    for i in range(70):
        # Names repeat, so pages must break ties by id, not by name alone.
        created.add(await site.do(create_contact, {"first_name": f"Client {i % 25:02d}"}))
    seen: list[int] = []
    url: str | None = f"/contacts?sort={sort}"
    pages = 0
    while url:
        answer = await site.client.get(url)
        assert answer.status_code == 200
        seen.extend(_ids_on(answer.text))
        url = _next_link(answer.text)
        assert url is None or "after=" in url
        pages += 1
    assert pages == 2
    assert len(seen) == len(set(seen)) == 70
    assert set(seen) == created


async def test_list_shows_channels_and_tags_and_filters_narrow_it(site):
    me = site.ids["admin"]
    acme = await site.do(create_contact, {"kind": "company", "name": "Acme Ltd", "source": "fair"})
    anna = await site.do(
        create_contact,
        {
            "first_name": "Anna",
            "last_name": "Smirnova",
            "company_id": acme,
            "phones": ["8 912 345 67 89"],
            "emails": ["anna@acme.example"],
            "tags": ["VIP"],
            "owner_id": me,
            "source": "fair",
        },
    )
    boris = await site.do(create_contact, {"first_name": "Boris", "owner_id": site.ids["staff"]})
    old = await site.do(create_contact, {"first_name": "Old", "tags": ["vip"]})
    await site.do(archive_contact, old)

    everyone = await site.client.get("/contacts")
    assert set(_ids_on(everyone.text)) == {acme, anna, boris}
    assert 'href="tel:+79123456789">+7 912 345-67-89</a>' in everyone.text
    assert 'href="mailto:anna@acme.example"' in everyone.text
    assert f'href="/contacts/{acme}">Acme Ltd</a>' in everyone.text

    async def ids(query: str) -> set[int]:
        answer = await site.client.get("/contacts?" + query)
        assert answer.status_code == 200
        return set(_ids_on(answer.text))

    assert await ids("kind=company") == {acme}
    assert await ids("kind=person") == {anna, boris}
    assert await ids("tag=vip") == {anna}  # tags match case-insensitively
    assert await ids("tag=vip&archived=1") == {old}
    assert await ids("owner=mine") == {anna}
    assert await ids(f"owner={site.ids['staff']}") == {boris}
    assert await ids("owner=unassigned") == {acme}
    assert await ids("source=fair") == {acme, anna}
    assert await ids("tag=no-such-tag") == set()
    assert await ids(f"company={acme}") == {anna}


# --- creating and editing -----------------------------------------------------------------------


async def test_a_bad_email_is_shown_next_to_its_field_and_the_input_is_kept(site):
    answer = await site.post(
        "/contacts/new",
        _form(
            first_name="Vera",
            last_name="Orlova",
            **{
                "email-0": "vera@example.com",
                "email-1": "not an email",
                "phone-0": "+7 912 000 11 22",
            },
            city="Kazan",
            tags="retail, VIP",
        ),
    )
    assert answer.status_code == 400
    page = answer.text
    assert 'id="email-1" name="email-1" type="email"' in page
    assert re.search(r'id="email-1"[^>]*aria-invalid="true" aria-describedby="email-1-error"', page)
    assert '<p class="field-error" id="email-1-error">This is not an email address.</p>' in page
    for kept in (
        'value="Vera"',
        'value="Orlova"',
        'value="vera@example.com"',
        'value="not an email"',
        'value="+7 912 000 11 22"',
        'value="Kazan"',
        'value="retail, VIP"',
    ):
        assert kept in page
    assert 'aria-invalid="true" aria-describedby="first_name-error"' not in page


async def test_creating_saves_every_field_and_opens_the_card(site):
    acme = await site.do(create_contact, {"kind": "company", "name": "Acme Ltd"})
    answer = await site.post(
        "/contacts/new",
        _form(
            first_name="Vera",
            last_name="Orlova",
            company="acme ltd",
            position="Buyer",
            **{
                "email-0": "vera@example.com",
                "phone-0": "8 (912) 111-22-33",
                "phone-0-label": "work",
            },
            country="ru",
            tags="retail, VIP",
            owner_id=str(site.ids["staff"]),
            source="website",
        ),
    )
    assert answer.status_code == 303, answer.text
    contact_id = int(answer.headers["location"].rsplit("/", 1)[1])
    contact = await site.do(get_contact, contact_id)
    assert contact["name"] == "Vera Orlova"
    assert contact["company"] == acme
    assert contact["country"] == "RU"
    assert contact["phones"][0]["e164"] == "+79121112233"
    assert contact["phones"][0]["label"] == "work"
    assert sorted(contact["tags"]) == ["VIP", "retail"]
    assert contact["owner"] == site.ids["staff"]


async def test_an_unknown_company_is_an_error_next_to_the_field(site):
    answer = await site.post("/contacts/new", _form(first_name="Ivan", company="Nowhere Inc"))
    assert answer.status_code == 400
    assert 'id="company-error"' in answer.text
    assert 'value="Nowhere Inc"' in answer.text


async def test_add_another_row_works_without_javascript(site):
    answer = await site.post(
        "/contacts/new", _form(first_name="Ivan", **{"email-0": "a@example.com"}, add="email")
    )
    assert answer.status_code == 200
    assert 'id="email-2"' in answer.text and 'id="email-3"' not in answer.text
    assert 'value="a@example.com"' in answer.text


async def test_the_same_phone_in_another_format_warns_of_a_duplicate(site):
    first = await site.do(create_contact, {"first_name": "Anna", "phones": ["+7 912 345-67-89"]})
    typed = _form(first_name="Anya", **{"phone-0": "8 (912) 345 67 89"})
    answer = await site.post("/contacts/new", typed)
    assert answer.status_code == 409
    assert 'id="duplicates"' in answer.text
    assert f'href="/contacts/{first}"' in answer.text
    assert "same phone +79123456789" in answer.text
    assert 'value="Anya"' in answer.text and 'value="8 (912) 345 67 89"' in answer.text
    assert f'name="merge_into" value="{first}"' in answer.text

    saved = await site.post("/contacts/new", {**typed, "allow_duplicate": "1"})
    assert saved.status_code == 303
    assert saved.headers["location"] != f"/contacts/{first}"


async def test_merge_into_the_existing_contact_from_the_duplicate_warning(site):
    first = await site.do(create_contact, {"first_name": "Anna", "phones": ["+7 912 345-67-89"]})
    answer = await site.post(
        "/contacts/new",
        _form(
            first_name="Anya",
            **{"phone-0": "89123456789", "email-0": "anya@example.com"},
            merge_into=str(first),
        ),
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/contacts/{first}"
    merged = await site.do(get_contact, first)
    assert [e["email"] for e in merged["emails"]] == ["anya@example.com"]


async def test_edit_keeps_input_when_someone_else_saved_first(site):
    from rapport.contacts.service import update_contact

    contact_id = await site.do(create_contact, {"first_name": "Anna", "city": "Kazan"})
    form = await site.client.get(f"/contacts/{contact_id}/edit")
    version = re.search(r'name="version" value="([^"]+)"', form.text).group(1)
    await site.do(update_contact, contact_id, {"city": "Perm"})
    answer = await site.post(
        f"/contacts/{contact_id}/edit", _form(first_name="Anna", city="Samara", version=version)
    )
    assert answer.status_code == 409
    assert 'id="conflict"' in answer.text and 'value="Samara"' in answer.text
    assert (await site.do(get_contact, contact_id))["city"] == "Perm"
    fresh = re.search(r'name="version" value="([^"]+)"', answer.text).group(1)
    saved = await site.post(
        f"/contacts/{contact_id}/edit", _form(first_name="Anna", city="Samara", version=fresh)
    )
    assert saved.status_code == 303
    assert (await site.do(get_contact, contact_id))["city"] == "Samara"


# --- the card -----------------------------------------------------------------------------------


async def test_the_card_shows_channels_tags_and_an_escaped_timeline(site):
    contact_id = await site.do(
        create_contact,
        {
            "first_name": "<script>alert(1)</script>",
            "phones": ["8 912 345 67 89"],
            "emails": ["x@example.com"],
            "tags": ["<b>vip</b>"],
        },
    )
    await site.do(
        log_activity,
        contact_id,
        "note",
        body='<img src=x onerror="alert(2)">\nline two',
        author_id=site.ids["staff"],
    )
    answer = await site.client.get(f"/contacts/{contact_id}")
    assert answer.status_code == 200
    page = answer.text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>vip</b>" not in page and "&lt;b&gt;vip&lt;/b&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=" in page
    assert 'href="tel:+79123456789">+7 912 345-67-89</a>' in page
    assert 'href="mailto:x@example.com"' in page
    assert "Sam Staff" in page  # the note's author, by name


async def test_a_company_card_lists_its_people(site):
    acme = await site.do(create_contact, {"kind": "company", "name": "Acme Ltd"})
    anna = await site.do(create_contact, {"first_name": "Anna", "company_id": acme})
    page = (await site.client.get(f"/contacts/{acme}")).text
    assert f'href="/contacts/{anna}">Anna</a>' in page
    person = (await site.client.get(f"/contacts/{anna}")).text
    assert f'href="/contacts/{acme}">Acme Ltd</a>' in person


async def test_the_timeline_pages_by_30_and_more_loads_the_rest(site):
    contact_id = await site.do(create_contact, {"first_name": "Busy"})
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(35):
        await site.do(
            log_activity,
            contact_id,
            "note",
            body=f"note {i:02d}",
            occurred_at=start + dt.timedelta(minutes=i),
        )
    page = (await site.client.get(f"/contacts/{contact_id}")).text
    shown = re.findall(r"note (\d\d)", page)
    assert shown == [f"{i:02d}" for i in range(34, 4, -1)]
    more = re.search(r'hx-get="(/contacts/\d+/timeline\?before=[^"]+)" hx-trigger="revealed"', page)
    assert more is not None
    rest = await site.client.get(more.group(1).replace("&amp;", "&"), headers=HTMX)
    assert re.findall(r"note (\d\d)", rest.text) == ["04", "03", "02", "01", "00"]
    assert "timeline-more" not in rest.text


async def test_quick_log_with_htmx_returns_the_new_item_and_a_fresh_form(site):
    contact_id = await site.do(create_contact, {"first_name": "Anna"})
    answer = await site.post(
        f"/contacts/{contact_id}/activities",
        {
            "kind": "call",
            "body": "Asked for <b>prices</b>",
            "direction": "incoming",
            "duration": "7",
        },
        htmx=True,
    )
    assert answer.status_code == 200
    text = answer.text
    assert text.lstrip().startswith('<li class="activity kind-call"')
    assert "Asked for &lt;b&gt;prices&lt;/b&gt;" in text
    assert "7 min" in text and "incoming" in text
    assert 'id="quick-log"' in text and 'hx-swap-oob="true"' in text
    assert "prices" not in text.split('id="quick-log"')[1]  # the form comes back empty

    invalid = await site.post(
        f"/contacts/{contact_id}/activities",
        {"kind": "task", "body": "", "due_date": "soon"},
        htmx=True,
    )
    assert invalid.status_code == 200
    assert invalid.headers["hx-retarget"] == "#quick-log"
    assert 'id="log-body-error"' in invalid.text and 'id="log-due-date-error"' in invalid.text

    plain = await site.post(f"/contacts/{contact_id}/activities", {"kind": "note", "body": "hi"})
    assert plain.status_code == 303


async def test_a_task_is_completed_from_the_card(site):
    contact_id = await site.do(create_contact, {"first_name": "Anna"})
    task = await site.do(
        log_activity,
        contact_id,
        "task",
        body="Send the offer",
        due_at=dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC),
        assignee_id=site.ids["staff"],
    )
    card = (await site.client.get(f"/contacts/{contact_id}")).text
    assert f"/contacts/{contact_id}/tasks/{task}/complete" in card
    done = await site.post(f"/contacts/{contact_id}/tasks/{task}/complete", {}, htmx=True)
    assert done.status_code == 200
    assert 'class="chip chip-ok">Done<' in done.text
    assert "/complete" not in done.text
    other = await site.do(create_contact, {"first_name": "Boris"})
    wrong = await site.post(f"/contacts/{other}/tasks/{task}/complete", {}, htmx=True)
    assert wrong.status_code == 404


async def test_a_failing_plugin_panel_shows_an_error_box_and_the_card_still_works(site):
    from rapport.hookspecs import hookimpl
    from rapport.runtime import current
    from rapport.web.slots import CardPanel, ContactAction

    module = types.ModuleType("broken_panels")

    @hookimpl
    def contact_card_panels(contact, request):
        raise RuntimeError("boom")

    module.contact_card_panels = contact_card_panels
    good = types.ModuleType("good_panels")

    @hookimpl
    def contact_card_panels_ok(contact, request):
        return [CardPanel(title="Loyalty", html="<p class='pts'>120 points</p>", key="loyalty")]

    good.contact_card_panels = contact_card_panels_ok

    @hookimpl
    def contact_actions(contact, request):
        return [
            ContactAction("New deal", f"/deals/new?contact={contact['id']}", key="deal"),
            ContactAction("Call", f"/calls/{contact['id']}", method="POST", key="call"),
        ]

    good.contact_actions = contact_actions
    plugins = current().plugins
    plugins.pm.register(module, name="test.broken_panels")
    plugins.pm.register(good, name="test.good_panels")
    try:
        contact_id = await site.do(create_contact, {"first_name": "Anna"})
        answer = await site.client.get(f"/contacts/{contact_id}")
    finally:
        plugins.pm.unregister(name="test.broken_panels")
        plugins.pm.unregister(name="test.good_panels")
    assert answer.status_code == 200
    assert 'class="slot-error" role="alert"' in answer.text
    assert "<p class='pts'>120 points</p>" in answer.text
    assert "Anna" in answer.text
    page = answer.text
    assert f'href="/deals/new?contact={contact_id}" data-action="deal"' in page
    post_action = re.search(
        rf'<form method="post" action="/calls/{contact_id}"[^>]*>\s*(.*?)</form>', page, re.S
    )
    assert post_action and 'name="_csrf_token"' in post_action.group(1)


async def test_archive_and_restore_from_the_card(site):
    contact_id = await site.do(create_contact, {"first_name": "Anna"})
    archived = await site.post(f"/contacts/{contact_id}/archive", {"archived": "1"})
    assert archived.status_code == 303
    assert (await site.do(get_contact, contact_id))["archived"] is True
    await site.post(f"/contacts/{contact_id}/archive", {"archived": "0"})
    assert (await site.do(get_contact, contact_id))["archived"] is False


async def test_merge_from_the_card(site):
    keep = await site.do(
        create_contact, {"first_name": "Anna", "last_name": "Keep", "emails": ["a@x.example"]}
    )
    gone = await site.do(
        create_contact, {"first_name": "Anna", "last_name": "Gone", "phones": ["+79120000001"]}
    )
    await site.do(log_activity, gone, "note", body="old call notes")
    confirm = await site.client.get(f"/contacts/{keep}/merge?other={gone}")
    assert confirm.status_code == 200 and "Anna Gone" in confirm.text
    answer = await site.post(f"/contacts/{keep}/merge", {"other": str(gone)})
    assert answer.status_code == 303
    merged = await site.do(get_contact, keep)
    assert [p["e164"] for p in merged["phones"]] == ["+79120000001"]
    assert (await site.do(get_contact, gone))["merged_into"] == keep
    assert "old call notes" in (await site.client.get(f"/contacts/{keep}")).text


# --- who may see and do what --------------------------------------------------------------------


async def test_under_own_visibility_staff_get_404_for_another_reps_contact(site):
    from rapport.users.visibility import set_visibility_mode

    await site.do(set_visibility_mode, "own")
    theirs = await site.do(
        create_contact,
        {"first_name": "Hidden", "owner_id": site.ids["staff2"], "phones": ["+79125550001"]},
    )
    task = await site.do(log_activity, theirs, "task", body="t")
    mine = await site.do(create_contact, {"first_name": "Visible", "owner_id": site.ids["staff"]})
    nobody = await site.do(create_contact, {"first_name": "Unassigned"})
    await site.sign_in("staff")
    for url in (
        f"/contacts/{theirs}",
        f"/contacts/{theirs}/edit",
        f"/contacts/{theirs}/timeline",
        f"/contacts/{theirs}/merge",
    ):
        assert (await site.client.get(url)).status_code == 404, url
    for url, data in (
        (f"/contacts/{theirs}/edit", _form(first_name="Taken")),
        (f"/contacts/{theirs}/activities", {"kind": "note", "body": "x"}),
        (f"/contacts/{theirs}/archive", {"archived": "1"}),
        (f"/contacts/{theirs}/merge", {"other": str(mine)}),
        (f"/contacts/{mine}/merge", {"other": str(theirs)}),
        (f"/contacts/{theirs}/tasks/{task}/complete", {}),
    ):
        assert (await site.post(url, data, htmx=True)).status_code in (403, 404), url
        assert (await site.post(url, data)).status_code in (403, 404), url
    assert (await site.do(get_contact, theirs))["first_name"] == "Hidden"
    listed = set(_ids_on((await site.client.get("/contacts")).text))
    assert listed == {mine, nobody}
    found = await site.client.get("/search?q=5550001", headers=HTMX)
    assert f"/contacts/{theirs}" not in found.text
    assert (await site.client.get(f"/contacts/{mine}")).status_code == 200

    await site.sign_in("manager")  # contacts.view_all
    assert (await site.client.get(f"/contacts/{theirs}")).status_code == 200


async def test_staff_may_not_archive_or_merge(site):
    a = await site.do(create_contact, {"first_name": "A"})
    b = await site.do(create_contact, {"first_name": "B"})
    await site.sign_in("staff")
    card = (await site.client.get(f"/contacts/{a}")).text
    assert "/merge" not in card and f"/contacts/{a}/archive" not in card
    assert (await site.post(f"/contacts/{a}/archive", {"archived": "1"})).status_code == 403
    assert (await site.client.get(f"/contacts/{a}/merge")).status_code == 403
    assert (await site.post(f"/contacts/{a}/merge", {"other": str(b)})).status_code == 403


# --- search ---------------------------------------------------------------------------------------


async def test_search_box_finds_by_the_last_digits_of_a_phone(site):
    acme = await site.do(create_contact, {"kind": "company", "name": "Acme Ltd"})
    anna = await site.do(
        create_contact, {"first_name": "Anna", "company_id": acme, "phones": ["8 912 345 67 89"]}
    )
    answer = await site.client.get("/search?q=4567 89", headers=HTMX)
    assert answer.status_code == 200
    assert f'href="/contacts/{anna}"' in answer.text
    assert "Acme Ltd" in answer.text and "+7 912 345-67-89" in answer.text
    assert "<html" not in answer.text
    empty = await site.client.get("/search?q=", headers=HTMX)
    assert empty.text == ""
    full = await site.client.get("/search?q=Anna")
    assert "<html" in full.text and f'href="/contacts/{anna}"' in full.text
