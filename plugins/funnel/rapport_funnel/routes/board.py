"""The board page: one pipeline's columns, filters, drag-and-drop moves, quick create."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from rapport.api import active_users, fragment, page, requires_permission
from rapport.api import gettext as _

from rapport_funnel import board as board_data
from rapport_funnel.deals import move_deal
from rapport_funnel.errors import FunnelError, NotFound
from rapport_funnel.lost_reasons import list_reasons
from rapport_funnel.money import instance_currency
from rapport_funnel.pipelines import default_pipeline, get_pipeline, list_pipelines
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


async def _board_context(
    request: Request, pipeline: dict[str, Any], owner: str, source: str, period: str
) -> dict[str, Any]:
    filters = board_data.BoardFilters(
        owner_id=int_or_none(owner),
        source=source,
        since=period_start(period),
        restricted_owner=await restriction(request),
    )
    columns = await board_data.board(pipeline["id"], filters)
    query = "&".join(
        f"{k}={v}" for k, v in (("owner", owner), ("source", source), ("period", period)) if v
    )
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
    context = await _board_context(request, pipeline, owner, source[:120], period)
    if is_htmx(request) and request.headers.get("hx-target") == "board":
        return fragment("funnel/_board.html", **context, errors={})
    return await page(request, "funnel/board.html", **context, errors={})


@post("/funnel/deals/{deal_id:int}/move", name="funnel:move",
      guards=[requires_permission(DEALS)])
async def move(request: Request, deal_id: FromPath[int], data: Form) -> Template | Redirect:
    """Move a deal: from a dragged card (htmx: the board is re-rendered) or from the deal
    page's form (a redirect back to it)."""
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
        context = await _board_context(
            request, pipeline, text(data, "owner"), text(data, "source"), text(data, "period")
        )
        return fragment(
            "funnel/_board.html", **context, errors={"move": error} if error else {},
            status_code=422 if error else 200,
        )
    if error:
        from rapport_funnel.routes.deal_page import deal_page_response

        return await deal_page_response(request, deal_id, errors={"move": error}, status=422)
    return Redirect(back if back.startswith("/funnel/") else f"/funnel/deals/{deal_id}",
                    status_code=303)


@get("/funnel/no-next-step", name="funnel:no_next_step", guards=[requires_permission(DEALS)])
async def no_next_step(request: Request) -> Template:
    deals = await board_data.no_next_step(user_of(request)["id"])
    return await page(request, "funnel/no_next_step.html", deals=deals)


ROUTES = [index, board_page, move, no_next_step]
