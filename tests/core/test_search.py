"""The search box: names in any word order, companies, emails, phones in any format.

Runs on the engine the suite runs on (SQLite, or PostgreSQL with RAPPORT_TEST_DATABASE_URL):
the index is built by the real migration and kept current by its triggers.
"""

from __future__ import annotations

import pytest
from rapport.contacts.phones import normalise_phone
from rapport.contacts.search import reindex_all, search_contacts, search_tokens
from rapport.contacts.tables import Contact, ContactEmail, ContactPhone
from rapport.users.tables import User


async def add_contact(
    name: str,
    *,
    kind: str = "person",
    company: int | None = None,
    owner: int | None = None,
    archived: bool = False,
    emails: tuple[str, ...] = (),
    phones: tuple[str, ...] = (),
) -> int:
    first, _, last = name.partition(" ") if kind == "person" else ("", "", "")
    rows = await Contact.insert(
        Contact(
            kind=kind,
            name=name,
            first_name=first,
            last_name=last,
            company=company,
            owner=owner,
            archived=archived,
        )
    ).returning(Contact.id)
    contact_id = rows[0]["id"]
    for email in emails:
        await ContactEmail.insert(
            ContactEmail(contact=contact_id, email=email, normalized=email.lower())
        )
    for raw in phones:
        phone = normalise_phone(raw, "RU")
        await ContactPhone.insert(
            ContactPhone(
                contact=contact_id,
                raw=raw,
                e164=phone.e164,
                reversed_digits=phone.reversed_digits,
            )
        )
    return contact_id


async def add_user(email: str) -> int:
    rows = await User.insert(User(email=email, name=email)).returning(User.id)
    return rows[0]["id"]


async def ids(query: str, **kwargs) -> list[int]:
    return [hit["id"] for hit in await search_contacts(query, **kwargs)]


@pytest.fixture
async def people(rapport) -> dict[str, int]:
    acme = await add_contact("Acme Trading", kind="company")
    romashka = await add_contact("ООО Ромашка", kind="company")
    return {
        "acme": acme,
        "romashka": romashka,
        "anna": await add_contact(
            "Anna Smith",
            company=acme,
            emails=("Anna.Smith@acme-corp.com",),
            phones=("+7 912 345-67-89",),
        ),
        "annabel": await add_contact("Annabel Jones", emails=("aj@example.org",)),
        "ivan": await add_contact(
            "Иван Иванов",
            company=romashka,
            emails=("ivanov@romashka.ru",),
            phones=("+74951234567",),
        ),
        "semyon": await add_contact("Семён Петров"),
    }


async def test_name_prefix_in_any_word_order(people):
    assert await ids("Anna Smith") == [people["anna"]]
    assert await ids("smith anna") == [people["anna"]]
    assert await ids("smi an") == [people["anna"]]
    assert set(await ids("ann")) == {people["anna"], people["annabel"]}


async def test_exact_name_comes_before_longer_names(people):
    extra = await add_contact("Anna")
    found = await ids("anna")
    assert found[0] == extra
    assert set(found) == {extra, people["anna"], people["annabel"]}


async def test_russian_names_by_prefix_of_each_word(people):
    assert await ids("Ивано") == [people["ivan"]]
    assert await ids("иванов иван") == [people["ivan"]]
    assert await ids("ИВ ИВ") == [people["ivan"]]


async def test_yo_and_ye_are_one_letter(people):
    assert await ids("Семен") == [people["semyon"]]
    assert await ids("семён петр") == [people["semyon"]]


async def test_words_longer_than_the_prefix_index_are_matched_in_full(rapport):
    # SQLite's index holds prefixes of up to six letters: "alexan" matches every name here;
    # the rest of a longer word is checked on those candidates, or searched in full when
    # they leave the answer open.
    for number in range(60):
        await add_contact(f"Alexandrov Number{number}")
    alexandra = await add_contact("Alexandra Last")
    assert await ids("alexandra") == [alexandra]
    assert await ids("alexandra las") == [alexandra]
    many = await ids("alexandrov", limit=100)
    assert len(many) == 60 and alexandra not in many
    assert len(await ids("Alexandr")) == 20
    assert await ids("alexandrovich") == []


async def test_company_name_finds_the_company_and_its_people(people):
    found = await search_contacts("acme")
    assert [h["id"] for h in found] == [people["acme"], people["anna"]]
    anna = found[1]
    assert anna["company_id"] == people["acme"]
    assert anna["company_name"] == "Acme Trading"
    assert anna["matched"] == "name"
    assert set(await ids("ромашка")) == {people["romashka"], people["ivan"]}


async def test_name_and_company_together(people):
    assert await ids("Anna Acme") == [people["anna"]]
    assert await ids("acme an") == [people["anna"]]
    assert await ids("Annabel Acme") == []


async def test_company_rename_reindexes_its_people(people):
    await Contact.update({Contact.name: "Globex"}).where(Contact.id == people["acme"])
    assert await ids("anna globex") == [people["anna"]]
    assert await ids("anna trading") == []  # "acme" is still in her email


async def test_name_change_and_new_company_are_indexed(people):
    await Contact.update({Contact.name: "Anna Karenina", Contact.last_name: "Karenina"}).where(
        Contact.id == people["anna"]
    )
    assert await ids("karen") == [people["anna"]]
    [still] = await search_contacts("smith")  # now only in her email address
    assert (still["id"], still["matched"]) == (people["anna"], "email")
    await Contact.update({Contact.company: people["romashka"]}).where(
        Contact.id == people["annabel"]
    )
    assert await ids("annabel ромашка") == [people["annabel"]]


async def test_email_exact_then_prefix(people):
    other = await add_contact("Anna Other", emails=("anna.smithson@example.com",))
    found = await search_contacts("Anna.Smith@ACME-corp.com")
    assert [h["id"] for h in found] == [people["anna"]]
    assert found[0]["matched"] == "email"
    assert found[0]["email"] == "anna.smith@acme-corp.com"
    found = await search_contacts("anna.smith@")
    assert [h["id"] for h in found] == [people["anna"]]
    # Without "@" it is a words search: "smith" is a prefix of "smithson".
    assert await ids("anna.smith") == [people["anna"], other]
    assert await ids("anna.smiths") == [other]


async def test_email_domain_and_inner_part(people):
    found = await search_contacts("@romashka.ru")
    assert [h["id"] for h in found] == [people["ivan"]]
    assert found[0]["email"] == "ivanov@romashka.ru"
    assert await ids("smith@acme") == [people["anna"]]
    assert await ids("nobody@nowhere.test") == []


async def test_email_words_are_found_by_the_name_search(people):
    found = await search_contacts("ivanov romashka")
    assert [h["id"] for h in found] == [people["ivan"]]
    found = await search_contacts("example")
    assert [h["id"] for h in found] == [people["annabel"]]
    assert found[0]["matched"] == "email"
    assert found[0]["email"] == "aj@example.org"


async def test_email_changes_are_indexed(people):
    await ContactEmail.delete().where(ContactEmail.contact == people["annabel"])
    assert await ids("example") == []
    await ContactEmail.insert(
        ContactEmail(
            contact=people["annabel"], email="bel@newmail.net", normalized="bel@newmail.net"
        )
    )
    assert await ids("newmail") == [people["annabel"]]
    await ContactEmail.update({ContactEmail.contact: people["semyon"]}).where(
        ContactEmail.contact == people["annabel"]
    )
    assert await ids("newmail") == [people["semyon"]]


async def test_deleted_contacts_leave_the_index(people):
    await Contact.delete().where(Contact.id == people["acme"])  # its people lose the company
    assert await ids("trading") == []
    await Contact.delete().where(Contact.id == people["anna"])
    assert await ids("anna") == [people["annabel"]]
    assert await ids("anna.smith@acme-corp.com") == []


@pytest.mark.parametrize(
    "typed",
    ["+7 912 345-67-89", "89123456789", "(912) 345 67 89", "8 912 345-67-89", "+79123456789"],
)
async def test_phone_in_any_format(people, typed):
    found = await search_contacts(typed)
    assert [h["id"] for h in found] == [people["anna"]]
    assert found[0]["matched"] == "phone"
    assert found[0]["phone"] == "+79123456789"


@pytest.mark.parametrize("typed", ["6789", "67-89", "456789", "345-67-89", "45 67 89"])
async def test_phone_by_its_last_digits(people, typed):
    found = await search_contacts(typed)
    assert [h["id"] for h in found] == [people["anna"]]
    assert found[0]["phone"] == "+79123456789"


async def test_number_typed_from_its_plus_matches_by_its_start(people):
    other = await add_contact("Ends Alike", phones=("+7 800 079-12-34",))  # ends with 7912 34
    assert await ids("+7 912 34") == [people["anna"]]
    assert await ids("+7 912") == [people["anna"]]
    assert await ids("+7 495") == [people["ivan"]]
    assert await ids("7912 34") == [other]  # without the plus: the last digits


async def test_phone_exact_match_comes_before_suffix_matches(people):
    # The same ten digits in another country: a suffix match only, and it sorts first by
    # its reversed digits, so only the tiers put the exact match ahead.
    other = await add_contact("Other Country", phones=("+1 912 345 6789",))
    assert await ids("912 345-67-89") == [people["anna"], other]
    assert await ids("+7 912 345-67-89") == [people["anna"]]
    assert await ids("345-67-89") == [other, people["anna"]]


async def test_digits_that_match_no_phone_search_words(people):
    numbered = await add_contact("Agent 2024")
    assert await ids("2024") == [numbered]


async def test_visible_to_keeps_own_and_unowned(people):
    alice = await add_user("alice@rapport.test")
    bob = await add_user("bob@rapport.test")
    mine = await add_contact("Zed Alpha", owner=alice)
    theirs = await add_contact("Zed Beta", owner=bob)
    nobodys = await add_contact("Zed Gamma")
    assert set(await ids("zed")) == {mine, theirs, nobodys}
    assert set(await ids("zed", visible_to=alice)) == {mine, nobodys}
    assert set(await ids("zed", visible_to=bob)) == {theirs, nobodys}
    await ContactPhone.insert(
        ContactPhone(
            contact=theirs,
            raw="+7 900 000-11-22",
            e164="+79000001122",
            reversed_digits="22110000097",
        )
    )
    assert await ids("1122", visible_to=alice) == []
    assert await ids("1122", visible_to=bob) == [theirs]


async def test_archived_are_left_out_unless_asked_for(people):
    gone = await add_contact(
        "Ghost Person", archived=True, emails=("ghost@example.com",), phones=("+79990001234",)
    )
    for query in ("ghost", "ghost@example.com", "+7 999 000-12-34", "1234"):
        assert gone not in await ids(query), query
        found = await search_contacts(query, include_archived=True)
        assert gone in [h["id"] for h in found], query
        assert next(h for h in found if h["id"] == gone)["archived"] is True


async def test_limit_is_respected(rapport):
    for number in range(30):
        await add_contact(f"Limit Person{number:02d}")
    found = await ids("limit", limit=7)
    assert len(found) == 7
    assert found == sorted(found, key=lambda i: i)  # same name prefix: by name, then id
    assert await ids("limit", limit=0) == []


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        'a" OR "b',
        "NEAR(",
        "NEAR(anna smith, 2)",
        "*",
        "^x",
        "-",
        "'; DROP TABLE rapport_contact; --",
        "",
        "   ",
        "anna AND NOT smith",
        "{name}: anna",
        "anna:*",
        "a & b | !c",
        "%_\\",
        "@",
        "@%",
        '"@"',
        "\x00",
        "a\x00@b.com",
        "\ud800@x.com",
        "anna\ud800",
        "12\x0034",
        "+",
        "()",
        "😀",
        "x" * 5000,
        " ".join(["word"] * 500),
    ],
)
async def test_hostile_input_never_breaks_the_query(people, hostile):
    for include_archived in (False, True):
        found = await search_contacts(hostile, include_archived=include_archived)
        assert isinstance(found, list)
    assert await Contact.count() >= 6


async def test_operators_are_plain_words(people):
    operator = await add_contact("Near Or")
    assert await ids("NEAR OR") == [operator]
    assert await ids('"anna" OR "ivan"') == []


async def test_reindex_all_rebuilds_the_index(people):
    await reindex_all()
    assert await ids("anna acme") == [people["anna"]]
    assert await ids("ivanov@romashka.ru") == [people["ivan"]]
    assert await ids("Семен") == [people["semyon"]]


def test_tokens_keep_letters_and_digits_only():
    assert search_tokens('Anna "O\'Brien"* NEAR( Ёлкин-Палкин 42') == [
        "anna",
        "o",
        "brien",
        "near",
        "елкин",
        "палкин",
        "42",
    ]
