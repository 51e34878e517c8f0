"""The sales funnel in a real browser: an admin creates a pipeline, adds a deal from a
contact card, drags it across two stages, loses another deal with a reason; the board, the
deal's history, the contact's timeline and the conversion report all show it. A long column
shows a page of cards and loads the rest with "Show more"; a drag from it updates both
columns' counts and sums and keeps the loaded cards."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import Page, expect

SCREENSHOTS_ENV = "RAPPORT_SCREENSHOTS"  # a folder: save the board's screenshot there


def _create_contact(page: Page, first: str, last: str) -> int:
    page.goto("/contacts/new")
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_role("button", name="Create contact").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _deal_from_card(page: Page, contact_id: int, title: str, amount: str, pipeline: str) -> None:
    page.goto(f"/contacts/{contact_id}")
    page.locator('[data-action="funnel-new-deal"]').click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Pipeline").select_option(label=pipeline)
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Create deal").click()
    page.wait_for_url(re.compile(rf"/contacts/{contact_id}$"))
    expect(page.locator('[data-panel="funnel-deals"]')).to_contain_text(title)


def _drag(page: Page, card, column) -> None:
    """Drag with the pointer, in small steps, as a person would."""
    start = card.bounding_box()
    end = column.bounding_box()
    # Grab the card by its lower edge: its title is a link, which does not start a drag.
    grab_x, grab_y = start["x"] + start["width"] - 12, start["y"] + start["height"] - 6
    page.mouse.move(grab_x, grab_y)
    page.mouse.down()
    page.mouse.move(grab_x + 10, grab_y + 10, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 20, steps=15)
    page.mouse.up()


def _column(page: Page, stage: str):
    return page.locator("#board .funnel-col", has=page.locator("h2", has_text=stage)).locator(
        "ol.funnel-cards"
    )


def test_a_deal_goes_from_the_contact_card_across_the_board(new_page, unique, live_server):
    page = new_page("admin", width=1600)
    page.goto("/admin/plugins")
    page.get_by_role("button", name="Enable Sales funnel").click()
    expect(page.locator("#plugin-funnel")).to_have_attribute("data-state", "enabled")
    try:
        _run_flow(page, unique)
    finally:
        page.goto("/admin/plugins")
        page.get_by_role("button", name="Disable Sales funnel").click()
        expect(page.locator("#plugin-funnel")).to_have_attribute("data-state", "disabled")


def _run_flow(page: Page, unique: str) -> None:
    name = f"Pipe {unique}"
    page.goto("/funnel/settings")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Stages, one per line: name, probability").fill(
        "Lead, 10\nMeeting, 40\nContract, 70"
    )
    page.get_by_role("button", name="Create pipeline").click()
    page.wait_for_url(re.compile(r"/funnel/settings/pipelines/\d+$"))
    pipeline_id = int(page.url.rsplit("/", 1)[1])

    nina = _create_contact(page, "Nina", f"Deal{unique}")
    _deal_from_card(page, nina, f"Licences {unique}", "120000", name)
    _deal_from_card(page, nina, f"Support {unique}", "30000", name)

    page.goto(f"/funnel/pipelines/{pipeline_id}")
    licences = page.locator(".deal-card", has_text=f"Licences {unique}")
    support = page.locator(".deal-card", has_text=f"Support {unique}")
    expect(_column(page, "Lead").locator(".deal-card")).to_have_count(2)
    expect(licences).to_contain_text(f"Nina Deal{unique}")

    for stage in ("Meeting", "Contract"):
        _drag(page, licences, _column(page, stage))
        # The server answers with the whole board; the column's count follows the move.
        expect(_column(page, stage).locator(".deal-card", has_text=f"Licences {unique}")
               ).to_be_visible()
        expect(page.locator("#board .funnel-col", has=page.locator("h2", has_text=stage))
               .locator("[data-count]")).to_have_text("1")

    _drag(page, support, _column(page, "Lost"))
    dialog = page.locator("#funnel-lost")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").select_option(label="Chose a competitor")
    dialog.get_by_label("Comment").fill("Went with the cheaper offer")
    dialog.get_by_role("button", name="Mark as lost").click()
    page.wait_for_url(re.compile(rf"/funnel/pipelines/{pipeline_id}"))
    expect(_column(page, "Lost").locator(".deal-card", has_text=f"Support {unique}")
           ).to_be_visible()

    page.reload()  # what the server stored, not what the browser moved
    expect(_column(page, "Contract").locator(".deal-card", has_text=f"Licences {unique}")
           ).to_be_visible()
    expect(_column(page, "Lead").locator(".deal-card")).to_have_count(0)
    licences.locator("a.deal-title").click()
    history = page.locator(".funnel-history")
    expect(history).to_contain_text("Created in Lead")
    expect(history).to_contain_text("Lead → Meeting")
    expect(history).to_contain_text("Meeting → Contract")

    page.goto(f"/contacts/{nina}")
    timeline = page.locator("main")
    expect(timeline).to_contain_text(f"Licences {unique} moved to Contract")
    expect(timeline).to_contain_text(
        f"Support {unique} lost: Chose a competitor — Went with the cheaper offer"
    )

    page.goto(f"/funnel/reports/conversion?pipeline={pipeline_id}")
    rows = page.locator('table[data-report="conversion"] tbody tr')
    # stage, entered, moved on, reached: both deals entered Lead, one went on to Contract.
    expect(rows.nth(0)).to_contain_text(re.compile(r"Lead\s*2\s*1\s*2"))
    expect(rows.nth(1)).to_contain_text(re.compile(r"Meeting\s*1\s*1\s*1"))
    expect(rows.nth(2)).to_contain_text(re.compile(r"Contract\s*1\s*—\s*1|Contract\s*1\s*0\s*1"))
    expect(page.locator("svg.funnel-chart rect")).to_have_count(4)


def _seed_board(live_server: dict, unique: str) -> int:
    """A dozen deals in the default pipeline, written from the test process."""
    from rapport import bootstrap

    async def run() -> int:
        from rapport.api import create_contact
        from rapport_funnel.deals import create_deal, move_deal, now
        from rapport_funnel.pipelines import default_pipeline, stages_of

        await bootstrap.start(live_server["settings"], call_startup=False)
        try:
            pipeline = await default_pipeline()
            stages = [s for s in await stages_of(pipeline["id"])]
            people = ["Anna Petrova", "Boris Orlov", "Clara Wendt", "Dmitri Lebedev",
                      "Elena Sokolova", "Farid Aliev"]
            for i in range(12):
                first, last = people[i % 6].split()
                contact = await create_contact({"first_name": first,
                                                "last_name": f"{last} {unique}"})
                deal = await create_deal(
                    {"title": f"{['Licences', 'Support', 'Training', 'Audit'][i % 4]} {i + 1}",
                     "contact_id": contact, "pipeline_id": pipeline["id"],
                     "amount": str(15000 * (i + 2)), "source": ["web", "call", "expo"][i % 3]},
                    at=now() - dt.timedelta(days=3 * i),
                )
                target = stages[i % 5]
                if target["semantic"] != "lost" and i % 5:
                    await move_deal(deal, target["id"], at=now() - dt.timedelta(days=i))
            return pipeline["id"]
        finally:
            await bootstrap.stop()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _seed_column(live_server: dict, pipeline_id: int, count: int, unique: str) -> None:
    """``count`` deals in the pipeline's first stage, written from the test process."""
    from rapport import bootstrap

    async def run() -> None:
        from rapport_funnel.deals import create_deal

        await bootstrap.start(live_server["settings"], call_startup=False)
        try:
            for i in range(count):
                await create_deal({"title": f"Lot {i:02d} {unique}", "pipeline_id": pipeline_id,
                                   "amount": "100"})
        finally:
            await bootstrap.stop()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


def _head(page: Page, stage: str):
    return page.locator("#board .funnel-col", has=page.locator("h2", has_text=stage))


def test_a_long_column_loads_more_and_a_drag_keeps_what_is_loaded(new_page, unique, live_server):
    from rapport_funnel.board import PAGE_SIZE

    page = new_page("admin", width=1600)
    page.goto("/admin/plugins")
    page.get_by_role("button", name="Enable Sales funnel").click()
    expect(page.locator("#plugin-funnel")).to_have_attribute("data-state", "enabled")
    try:
        page.goto("/funnel/settings")
        page.get_by_label("Name", exact=True).fill(f"Long {unique}")
        page.get_by_label("Stages, one per line: name, probability").fill("Lead, 10\nDemo, 40")
        page.get_by_role("button", name="Create pipeline").click()
        page.wait_for_url(re.compile(r"/funnel/settings/pipelines/\d+$"))
        pipeline_id = int(page.url.rsplit("/", 1)[1])
        total = PAGE_SIZE + 6
        _seed_column(live_server, pipeline_id, total, unique)

        page.set_viewport_size({"width": 1600, "height": 700})
        page.goto(f"/funnel/pipelines/{pipeline_id}")
        lead = _column(page, "Lead").locator(".deal-card")
        expect(lead).to_have_count(PAGE_SIZE)  # a page up front, the newest first
        expect(lead.first).to_contain_text(f"Lot {total - 1:02d} {unique}")
        expect(_head(page, "Lead").locator("[data-count]")).to_have_text(str(total))
        expect(_head(page, "Lead").locator("[data-sum]")).to_have_text("RUB2,600")
        _head(page, "Lead").get_by_role("button", name="Show more").click()
        expect(lead).to_have_count(total)
        expect(lead.last).to_contain_text(f"Lot 00 {unique}")
        expect(_head(page, "Lead").get_by_role("button", name="Show more")).to_have_count(0)

        page.evaluate("window.scrollTo(0, 0)")
        name = f"Lot {total - 2:02d} {unique}"  # the second card: both columns in view
        moved = page.locator(".deal-card", has_text=name)
        _drag(page, moved, _column(page, "Demo"))
        expect(_column(page, "Demo").locator(".deal-card", has_text=name)).to_be_visible()
        expect(_head(page, "Demo").locator("[data-count]")).to_have_text("1")
        expect(_head(page, "Demo").locator("[data-sum]")).to_have_text("RUB100")
        expect(_head(page, "Lead").locator("[data-count]")).to_have_text(str(total - 1))
        expect(_head(page, "Lead").locator("[data-sum]")).to_have_text("RUB2,500")
        expect(lead).to_have_count(total - 1)  # the loaded page stayed loaded
        page.reload()  # what the server stored
        expect(_column(page, "Demo").locator(".deal-card", has_text=name)).to_be_visible()
    finally:
        page.goto("/admin/plugins")
        page.get_by_role("button", name="Disable Sales funnel").click()
        expect(page.locator("#plugin-funnel")).to_have_attribute("data-state", "disabled")


def test_board_screenshots(new_page, unique, live_server, tmp_path):
    """The default pipeline's board at desktop and phone width, for the documentation
    (written to the folder ``RAPPORT_SCREENSHOTS`` names, else to a temporary one)."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    page = new_page("admin", width=1280)
    page.goto("/admin/plugins")
    page.get_by_role("button", name="Enable Sales funnel").click()
    try:
        pipeline_id = _seed_board(live_server, unique)
        for width, name in ((1280, "funnel-board.png"), (390, "funnel-board-phone.png")):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"/funnel/pipelines/{pipeline_id}")
            expect(page.locator(".deal-card").first).to_be_visible()
            page.screenshot(path=str(folder / name), full_page=True)
            assert (folder / name).stat().st_size > 10_000
    finally:
        page.goto("/admin/plugins")
        page.get_by_role("button", name="Disable Sales funnel").click()
