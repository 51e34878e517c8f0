"""The funnel's pages through the real app: board, moves by form and by htmx, the lost-reason
check, the deal page, quick create from the board and from a contact card, visibility."""

from __future__ import annotations

import re

import pytest
from rapport.api import create_contact, log_activity, running
from rapport.testing import app_client, enable_plugin, make_user, sign_in

PASSWORD = "test-pass-word-1"


async def _seed(settings) -> dict:
    from rapport_funnel.deals import create_deal
    from rapport_funnel.pipelines import default_pipeline, stages_of

    async with running(settings):
        await enable_plugin("funnel")
        rep = await make_user("rep@example.com", "Rita Rep")
        other = await make_user("other@example.com", "Oleg Other")
        manager = await make_user("boss@example.com", "Max Boss", "manager")
        await make_user("admin@example.com", "Ada Admin", "admin")
        await make_user("ru@example.com", "Иван", "manager", language="ru")
        pipeline = await default_pipeline()
        stages = {s["name"]: s["id"] for s in await stages_of(pipeline["id"])}
        anna = await create_contact({"first_name": "Anna", "last_name": "Petrova", "owner_id": rep})
        deal = await create_deal(
            {
                "title": "Ten licences",
                "contact_id": anna,
                "pipeline_id": pipeline["id"],
                "amount": "1000",
            }
        )
        await log_activity(anna, "note", body="unrelated")
        hidden = await create_deal(
            {
                "title": "Oleg's secret deal",
                "pipeline_id": pipeline["id"],
                "owner_id": other,
                "amount": "5",
            }
        )
        return {
            "rep": rep,
            "manager": manager,
            "pipeline": pipeline["id"],
            "stages": stages,
            "anna": anna,
            "deal": deal,
            "hidden": hidden,
        }


@pytest.fixture
async def seeded(rapport_settings):
    return await _seed(rapport_settings)


@pytest.fixture
async def client(rapport_settings, seeded):
    async with app_client(rapport_settings) as client:
        yield client


def _csrf(html: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', html).group(1)


async def test_the_board_shows_columns_with_count_sum_and_cards(client, seeded):
    await sign_in(client, "rep@example.com", PASSWORD)
    response = await client.get(f"/funnel/pipelines/{seeded['pipeline']}")
    assert response.status_code == 200
    html = response.text
    assert "Qualification" in html and "Negotiation" in html and "Lost" in html
    card = re.search(
        rf'<li class="deal-card[^"]*" data-deal="{seeded["deal"]}">(.*?)</li>', html, re.S
    )
    assert card, "the deal is on the board"
    assert "Ten licences" in card.group(1) and "Anna Petrova" in card.group(1)
    assert "Follow up on Ten licences" in card.group(1)  # the next task, from the follow-up
    assert "/static/plugins/funnel/funnel.js" in html
    assert "Sortable.min.js" in html
    static = await client.get("/static/plugins/funnel/vendor/sortablejs-1.15.6/Sortable.min.js")
    assert static.status_code == 200 and "Sortable" in static.text


async def test_dragging_a_card_moves_it_and_updates_both_columns_counts_and_sums(client, seeded):
    token = await sign_in(client, "rep@example.com", PASSWORD)
    qualification, proposal = seeded["stages"]["Qualification"], seeded["stages"]["Proposal"]
    board = await client.get(f"/funnel/pipelines/{seeded['pipeline']}")
    # Before: Qualification holds both deals (1000 + 5), Proposal none.
    assert re.search(rf'id="col-sum-{qualification}"><span[^>]*>2</span> · <span data-sum>'
                     r'RUB1,005</span>', board.text)
    response = await client.post(
        f"/funnel/deals/{seeded['deal']}/move",
        data={"stage_id": str(proposal)},
        headers={"hx-request": "true", "x-csrftoken": token},
    )
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html and 'id="board"' not in html  # only the card and two counts
    card = re.search(r'<li class="deal-card[^"]*" data-deal="(\d+)">(.*?)</li>', html, re.S)
    assert card.group(1) == str(seeded["deal"]) and "Ten licences" in card.group(2)
    assert "0 days in stage" in card.group(2)
    left = re.search(rf'<p class="funnel-col-sum" id="col-sum-{qualification}" '
                     r'hx-swap-oob="true">(.*?)</p>', html, re.S).group(1)
    entered = re.search(rf'<p class="funnel-col-sum" id="col-sum-{proposal}" '
                        r'hx-swap-oob="true">(.*?)</p>', html, re.S).group(1)
    assert "data-count>1<" in left and "RUB5<" in left
    assert "data-count>1<" in entered and "RUB1,000<" in entered
    # The move is stored: a fresh board has the card in Proposal.
    board = await client.get(f"/funnel/pipelines/{seeded['pipeline']}")
    column = re.search(rf'id="cards-{proposal}".*?</ol>', board.text, re.S).group(0)
    assert f'data-deal="{seeded["deal"]}"' in column


async def test_a_refused_drag_re_renders_the_board_with_the_message(client, seeded):
    token = await sign_in(client, "rep@example.com", PASSWORD)
    response = await client.post(
        f"/funnel/deals/{seeded['deal']}/move",
        data={"stage_id": str(seeded["stages"]["Lost"])},  # no reason given
        headers={"hx-request": "true", "x-csrftoken": token},
    )
    assert response.status_code == 422
    assert response.headers["hx-retarget"] == "#board"
    assert 'id="board"' in response.text
    assert "Pick the reason the deal was lost." in response.text
    qualification = seeded["stages"]["Qualification"]
    column = re.search(rf'id="cards-{qualification}".*?</ol>', response.text, re.S).group(0)
    assert f'data-deal="{seeded["deal"]}"' in column  # back where it was


@pytest.fixture
async def bulk(rapport_settings, seeded):
    """A page and five more of deals from one source in Qualification, and one from another;
    written before the app client starts."""
    from rapport_funnel.board import PAGE_SIZE
    from rapport_funnel.deals import create_deal

    async with running(rapport_settings):
        for i in range(PAGE_SIZE + 5):
            await create_deal({"title": f"Bulk {i:02d}", "pipeline_id": seeded["pipeline"],
                               "owner_id": seeded["rep"], "source": "expo"})
        await create_deal({"title": "Elsewhere", "pipeline_id": seeded["pipeline"],
                           "owner_id": seeded["rep"], "source": "web"})


async def test_show_more_loads_the_next_page_of_a_column_with_the_filters(
    bulk, client, seeded
):
    from rapport_funnel.board import PAGE_SIZE

    await sign_in(client, "rep@example.com", PASSWORD)
    q = seeded["stages"]["Qualification"]
    board = await client.get(f"/funnel/pipelines/{seeded['pipeline']}?source=expo")
    column = re.search(rf'id="cards-{q}".*?</ol>', board.text, re.S).group(0)
    first = re.findall(r'data-deal="(\d+)"', column)
    assert len(first) == PAGE_SIZE
    assert f'id="col-sum-{q}"><span class="funnel-count" data-count>{PAGE_SIZE + 5}<' in board.text
    more = re.search(rf'<div class="funnel-more" id="more-{q}">.*?hx-get="([^"]+)"',
                     board.text, re.S).group(1).replace("&amp;", "&")
    assert "source=expo" in more
    page = await client.get(more, headers={"hx-request": "true"})
    assert page.status_code == 200
    rest = re.findall(r'data-deal="(\d+)"', page.text)
    assert len(rest) == 5 and not set(rest) & set(first)
    assert "Elsewhere" not in page.text and "Ten licences" not in page.text  # filtered out
    # The last page: its "show more" control comes back empty, swapped out of band.
    assert re.search(rf'<div class="funnel-more" id="more-{q}" hx-swap-oob="true">\s*</div>',
                     page.text)
    refused = await client.get(
        f"/funnel/pipelines/{seeded['pipeline']}/stages/{q}/cards?after=nonsense"
    )
    assert refused.status_code == 400 and "reload the board" in refused.text
    other = await client.get(f"/funnel/pipelines/999/stages/{q}/cards?after=1-1")
    assert other.status_code == 404


async def test_losing_without_a_reason_is_refused_with_a_message(client, seeded):
    await sign_in(client, "rep@example.com", PASSWORD)
    page = await client.get(f"/funnel/deals/{seeded['deal']}")
    response = await client.post(
        f"/funnel/deals/{seeded['deal']}/move",
        data={"stage_id": str(seeded["stages"]["Lost"]), "_csrf_token": _csrf(page.text)},
    )
    assert response.status_code == 422
    assert "Pick the reason the deal was lost." in response.text


async def test_moving_from_the_deal_page_works_without_javascript(client, seeded):
    await sign_in(client, "rep@example.com", PASSWORD)
    page = await client.get(f"/funnel/deals/{seeded['deal']}")
    reason = re.search(
        r'<select id="move-reason".*?<option value="(\d+)">([^<]+)</option>', page.text, re.S
    )
    response = await client.post(
        f"/funnel/deals/{seeded['deal']}/move",
        data={
            "stage_id": str(seeded["stages"]["Lost"]),
            "lost_reason_id": reason.group(1),
            "lost_comment": "Went elsewhere",
            "_csrf_token": _csrf(page.text),
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert f"Lost: {reason.group(2)} — Went elsewhere" in response.text
    assert "Qualification → Lost" in response.text  # the history
    card = await client.get(f"/contacts/{seeded['anna']}")
    assert f"Ten licences lost: {reason.group(2)}" in card.text  # the contact's timeline


async def test_quick_create_from_a_contact_card(client, seeded):
    await sign_in(client, "rep@example.com", PASSWORD)
    card = await client.get(f"/contacts/{seeded['anna']}")
    assert 'data-panel="funnel-deals"' in card.text and "Ten licences" in card.text
    assert f"/funnel/deals/new?contact_id={seeded['anna']}" in card.text
    form = await client.get(f"/funnel/deals/new?contact_id={seeded['anna']}")
    assert "For Anna Petrova" in form.text
    response = await client.post(
        "/funnel/deals",
        data={
            "title": "Support contract",
            "amount": "abc",
            "contact_id": str(seeded["anna"]),
            "pipeline_id": str(seeded["pipeline"]),
            "_csrf_token": _csrf(form.text),
        },
    )
    assert response.status_code == 422 and "Enter an amount" in response.text
    assert 'value="Support contract"' in response.text  # nothing typed is lost
    response = await client.post(
        "/funnel/deals",
        data={
            "title": "Support contract",
            "amount": "2 500",
            "contact_id": str(seeded["anna"]),
            "pipeline_id": str(seeded["pipeline"]),
            "back": f"/contacts/{seeded['anna']}",
            "_csrf_token": _csrf(form.text),
        },
        follow_redirects=True,
    )
    assert "Support contract" in response.text and 'data-panel="funnel-deals"' in response.text


async def test_own_visibility_hides_other_reps_deals(client, seeded):
    await sign_in(client, "boss@example.com", PASSWORD)
    board = await client.get(f"/funnel/pipelines/{seeded['pipeline']}")
    assert "Oleg&#39;s secret deal" in board.text  # everyone sees everything by default
    client.cookies.clear()
    token = await sign_in(client, "admin@example.com", PASSWORD)
    saved = await client.post(
        "/admin/settings",
        data={
            "language": "en",
            "phone_region": "RU",
            "currency": "RUB",
            "record_visibility": "own",
            "theme": "default",
            "_csrf_token": token,
        },
    )
    assert "saved=1" in str(saved.url)
    client.cookies.clear()
    await sign_in(client, "rep@example.com", PASSWORD)
    board = await client.get(f"/funnel/pipelines/{seeded['pipeline']}")
    assert "Ten licences" in board.text and "secret deal" not in board.text
    assert (await client.get(f"/funnel/deals/{seeded['hidden']}")).status_code == 404
    assert (await client.get(f"/funnel/deals/{seeded['deal']}")).status_code == 200


async def test_reports_need_the_managers_permission(client, seeded):
    await sign_in(client, "rep@example.com", PASSWORD)
    assert (await client.get("/funnel/settings")).status_code == 403
    board = await client.get(f"/funnel/pipelines/{seeded['pipeline']}")
    assert 'data-menu="funnel"' in board.text and 'data-menu="funnel-reports"' not in board.text


async def test_a_manager_sees_a_report_with_chart_and_downloads_csv(client, seeded):
    await sign_in(client, "boss@example.com", PASSWORD)
    response = await client.get(f"/funnel/reports/conversion?pipeline={seeded['pipeline']}")
    assert response.status_code == 200
    html = response.text
    assert '<svg class="funnel-chart"' in html and "<rect" in html
    assert re.search(r"<tr><td>Qualification</td><td>2</td>", html)  # both deals entered
    csv = await client.get(f"/funnel/reports/conversion?pipeline={seeded['pipeline']}&format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    lines = csv.text.splitlines()
    assert lines[0].startswith("Stage,Entered,Moved on,Reached")
    assert lines[1].startswith("Qualification,2,0,2")
    assert (await client.get("/funnel/reports/nope")).status_code == 404


async def test_a_goal_with_bad_input_is_refused_next_to_the_field(client, seeded):
    await sign_in(client, "boss@example.com", PASSWORD)
    page = await client.get("/funnel/reports/goals")
    response = await client.post(
        "/funnel/goals",
        data={
            "goal_owner": str(seeded["rep"]),
            "goal_start": "2026-11-01",
            "goal_end": "2026-11-30",
            "goal_target": "many",
            "_csrf_token": _csrf(page.text),
        },
    )
    assert response.status_code == 422
    assert 'id="goal_target-error"' in response.text
    response = await client.post(
        "/funnel/goals",
        data={
            "goal_owner": str(seeded["rep"]),
            "goal_start": "2026-11-01",
            "goal_end": "2026-11-30",
            "goal_target": "5000",
            "_csrf_token": _csrf(page.text),
        },
        follow_redirects=True,
    )
    assert "<td>Rita Rep</td><td>2026-11-01</td><td>2026-11-30</td>" in response.text


async def test_staff_cannot_open_reports(client, seeded):
    await sign_in(client, "rep@example.com", PASSWORD)
    assert (await client.get("/funnel/reports/conversion")).status_code == 403
    assert (await client.get("/funnel/reports/conversion?format=csv")).status_code == 403


async def test_pages_speak_the_users_language(client, seeded):
    await sign_in(client, "ru@example.com", PASSWORD)
    board = await client.get(f"/funnel/pipelines/{seeded['pipeline']}")
    assert "Новая сделка" in board.text and "Ответственный" in board.text
    assert "дней на этапе" in board.text or "день на этапе" in board.text
    assert "1\xa0000\xa0₽" in board.text  # the deal's amount in Russian format
    report = await client.get(f"/funnel/reports/velocity?pipeline={seeded['pipeline']}")
    assert "В среднем дней" in report.text


async def test_an_admin_creates_a_pipeline_and_edits_its_stages(client, seeded):
    await sign_in(client, "admin@example.com", PASSWORD)
    page = await client.get("/funnel/settings")
    # The title is text only, and each section is on the page once.
    title = re.search(r"<title>(.*?)</title>", page.text, re.S).group(1)
    assert "Funnel settings" in title and "<" not in title
    assert page.text.count('id="products"') == 1
    token = _csrf(page.text)
    refused = await client.post(
        "/funnel/settings/pipelines", data={"name": "", "stages": "", "_csrf_token": token}
    )
    assert refused.status_code == 422 and 'id="name-error"' in refused.text
    created = await client.post(
        "/funnel/settings/pipelines",
        data={"name": "Repeat sales", "stages": "Offer, 30\nInvoice, 80", "_csrf_token": token},
        follow_redirects=True,
    )
    assert created.status_code == 200
    names = re.findall(r'name="name" value="([^"]+)"', created.text)
    assert names == ["Offer", "Invoice", "Won", "Lost"]
    stage = re.search(r'action="/funnel/settings/stages/(\d+)"', created.text).group(1)
    bad = await client.post(
        f"/funnel/settings/stages/{stage}",
        data={"name": "Offer", "probability": "130", "_csrf_token": token},
    )
    assert bad.status_code == 422 and "Enter a whole number from 0 to 100." in bad.text
    await client.post(
        f"/funnel/settings/stages/{stage}",
        data={
            "name": "Offer sent",
            "probability": "35",
            "idle_days": "5",
            "followup_days": "2",
            "_csrf_token": token,
        },
    )
    edited = await client.get(created.url)
    assert 'value="Offer sent"' in edited.text and 'value="35"' in edited.text


async def test_a_catalogue_product_becomes_a_line_of_a_deal(client, seeded):
    await sign_in(client, "admin@example.com", PASSWORD)
    settings = await client.get("/funnel/settings")
    token = _csrf(settings.text)
    bad = await client.post(
        "/funnel/settings/products",
        data={"product_name": "", "product_price": "x", "_csrf_token": token},
    )
    assert bad.status_code == 422 and 'id="product_price-error"' in bad.text
    await client.post(
        "/funnel/settings/products",
        data={
            "product_name": "Licence",
            "product_sku": "LIC-1",
            "product_price": "400",
            "_csrf_token": token,
        },
    )
    deal = await client.get(f"/funnel/deals/{seeded['deal']}")
    product = re.search(r'<option value="(\d+)">Licence', deal.text).group(1)
    page = await client.post(
        f"/funnel/deals/{seeded['deal']}/items",
        data={
            "product_id": product,
            "item_name": "",
            "quantity": "3",
            "price": "",
            "_csrf_token": token,
        },
        follow_redirects=True,
    )
    assert "<td>Licence</td><td>3</td>" in page.text
    assert "RUB1,200.00" in page.text  # the deal's amount is now the sum of its lines
