"""The board page: one pipeline's columns, filters, drag-and-drop moves, quick create, and the
"show more" pages of a column."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from rapport.api import active_users, fragment, page, requires_permission
from rapport.api import gettext as _

from rapport_funnel import board as board_data
from rapport_funnel.deals import get_deal, move_deal
from rapport_funnel.errors import FunnelError, NotFound
from rapport_funnel.lost_reasons import list_reasons
from rapport_funnel.money import instance_currency
from rapport_funnel.pipelines import (
    default_pipeline,
    get_pipeline,
    get_stage,
    list_pipelines,
    stages_of,
)
from rapport_funnel.routes.common import (
    PERIODS,
    Form,
    int_or_none,
    is_htmx,
    period_start,
    restriction,
    text,
    user_of,
    visible_deal,
)

DEALS = "funnel.deals"


async def _filters(
    request: Request, owner: str, source: str, period: str
) -> tuple[board_data.BoardFilters, str]:
    """The board's filters, and the query string that carries them to every page."""
    filters = board_data.BoardFilters(
        owner_id=int_or_none(owner),
        source=source[:120],
        since=period_start(period),
        restricted_owner=await restriction(request),
    )
    query = urlencode([(k, v) for k, v in (("owner", owner), ("source", source[:120]),
                                            ("period", period)) if v])
    return filters, query


async def _board_context(
    request: Request, pipeline: dict[str, Any], owner: str, source: str, period: str
) -> dict[str, Any]:
    filters, query = await _filters(request, owner, source, period)
    columns = await board_data.board(pipeline["id"], filters)
    return {
        "pipeline": pipeline,
        "pipelines": await list_pipelines(),
        "columns": columns,
        "owners": await active_users(),
        "sources": await board_data.sources_of(pipeline["id"]),
        "reasons": await list_reasons(),
        "periods": PERIODS,
        "filters": {"owner": owner, "source": source, "period": period},
        "query": query,
        "currency": instance_currency(),
        "first_stage": next(
            (c.stage for c in columns if c.stage["semantic"] == "in_progress"), None
        ),
    }


@get("/funnel", name="funnel:index", guards=[requires_permission(DEALS)])
async def index(request: Request) -> Template | Redirect:
    pipeline = await default_pipeline()
    if pipeline is None:
        return await page(request, "funnel/empty.html", title=_("Deals"))
    return Redirect(f"/funnel/pipelines/{pipeline['id']}", status_code=303)


@get("/funnel/pipelines/{pipeline_id:int}", name="funnel:board",
     guards=[requires_permission(DEALS)])
async def board_page(
    request: Request,
    pipeline_id: FromPath[int],
    owner: FromQuery[str] = "",
    source: FromQuery[str] = "",
    period: FromQuery[str] = "",
) -> Template:
    try:
        pipeline = await get_pipeline(pipeline_id)
    except NotFound:
        raise NotFoundException() from None
    context = await _board_context(request, pipeline, owner, source, period)
    if is_htmx(request) and request.headers.get("hx-target") == "board":
        return fragment("funnel/_board.html", **context, errors={})
    return await page(request, "funnel/board.html", **context, errors={})


@get("/funnel/pipelines/{pipeline_id:int}/stages/{stage_id:int}/cards",
     name="funnel:more_cards", guards=[requires_permission(DEALS)])
async def more_cards(
    request: Request,
    pipeline_id: FromPath[int],
    stage_id: FromPath[int],
    after: FromQuery[str] = "",
    owner: FromQuery[str] = "",
    source: FromQuery[str] = "",
    period: FromQuery[str] = "",
) -> Template:
    """The next page of one column ("show more", or scrolling to its end): the cards, to be
    appended to the column, and the column's next "show more" control (out of band)."""
    try:
        stage = await get_stage(stage_id)
    except NotFound:
        raise NotFoundException() from None
    if stage["pipeline_id"] != pipeline_id:
        raise NotFoundException()
    try:
        cursor = board_data.Cursor.parse(after)
    except board_data.BadCursor:
        raise ValidationException(_("This list has changed; reload the board.")) from None
    filters, query = await _filters(request, owner, source, period)
    column = await board_data.more_cards(pipeline_id, stage, filters, cursor)
    return fragment(
        "funnel/_cards_page.html", col=column, pipeline={"id": pipeline_id}, query=query
    )


@post("/funnel/deals/{deal_id:int}/move", name="funnel:move",
      guards=[requires_permission(DEALS)])
async def move(request: Request, deal_id: FromPath[int], data: Form) -> Template | Redirect:
    """Move a deal: from a dragged card (htmx: the moved card re-rendered, with both columns'
    counts and sums out of band; a refused move re-renders the whole board with the message)
    or from the deal page's form (a redirect back to it)."""
    deal = await visible_deal(request, deal_id)
    error = ""
    try:
        await move_deal(
            deal_id,
            int_or_none(data.get("stage_id")) or 0,
            actor_id=user_of(request)["id"],
            lost_reason_id=int_or_none(data.get("lost_reason_id")),
            lost_comment=text(data, "lost_comment"),
        )
    except FunnelError as exc:
        error = next(iter(exc.errors.values()))
    back = text(data, "back")
    if is_htmx(request):
        pipeline = await get_pipeline(deal["pipeline_id"])
        owner, source, period = text(data, "owner"), text(data, "source"), text(data, "period")
        if error:
            context = await _board_context(request, pipeline, owner, source, period)
            refused = fragment(
                "funnel/_board.html", **context, errors={"move": error}, status_code=422
            )
            # The board's script swaps this 422 in place of the board: the card goes back.
            refused.headers["HX-Retarget"] = "#board"
            refused.headers["HX-Reswap"] = "outerHTML"
            return refused
        return await _moved_card(request, pipeline, deal, deal_id, owner, source, period)
    if error:
        from rapport_funnel.routes.deal_page import deal_page_response

        return await deal_page_response(request, deal_id, errors={"move": error}, status=422)
    return Redirect(back if back.startswith("/funnel/") else f"/funnel/deals/{deal_id}",
                    status_code=303)


async def _moved_card(
    request: Request, pipeline: dict[str, Any], before: dict[str, Any], deal_id: int,
    owner: str, source: str, period: str,
) -> Template:
    """The moved card and the count and sums of the column it left and the one it entered."""
    filters, _query = await _filters(request, owner, source, period)
    stages = await stages_of(pipeline["id"])
    columns = [board_data.Column(stage=s) for s in stages]
    await board_data.fill_totals(pipeline["id"], filters, columns)
    after = await get_deal(deal_id)
    by_id = {c.stage["id"]: c for c in columns}
    card = await board_data.card_of(deal_id, by_id[after["stage_id"]].stage)
    changed = [by_id[i] for i in dict.fromkeys((before["stage_id"], after["stage_id"]))
               if i in by_id]
    return fragment("funnel/_moved.html", card=card, columns=changed)


@get("/funnel/no-next-step", name="funnel:no_next_step", guards=[requires_permission(DEALS)])
async def no_next_step(request: Request) -> Template:
    deals = await board_data.no_next_step(user_of(request)["id"])
    return await page(request, "funnel/no_next_step.html", deals=deals)


ROUTES = [index, board_page, more_cards, move, no_next_step]
