"""The funnel's REST resources under ``/api/v1/funnel``: pipelines and deals.

Lists are keyset-paginated by id (``limit``, ``cursor``); a deal the token's user may not see
(record visibility) answers 404 like one that does not exist. Bad input answers 422 with a
message per field. Scopes: ``deals:read`` and ``deals:write``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Request, get, post
from litestar.params import JSONBody, QueryParameter
from rapport.api import (
    ApiCursor,
    ApiId,
    ApiLimit,
    ApiProblem,
    ApiScope,
    can_see,
    cursor_page,
    decode_cursor,
    requires_scope,
    restricted_to,
)

from rapport_funnel.deals import create_deal, get_deal, move_deal
from rapport_funnel.errors import FunnelError, NotFound
from rapport_funnel.pipelines import get_pipeline, stages_of
from rapport_funnel.tables import FunnelDeal, FunnelPipeline, FunnelStage

#: An optional id filter in the query string (the databases' integer range).
QueryId = Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)]

READ = "deals:read"
WRITE = "deals:write"

SCOPES = [
    ApiScope(READ, "Read pipelines and deals of the sales funnel"),
    ApiScope(WRITE, "Create deals and move them between stages"),
]


@dataclass
class StageOut:
    id: int
    name: str
    sort: int
    colour: str
    probability: int
    semantic: str
    idle_days: int | None
    followup_days: int | None


@dataclass
class PipelineOut:
    id: int
    name: str
    is_default: bool
    stages: list[StageOut]


@dataclass
class PipelinePage:
    data: list[PipelineOut]
    next_cursor: str | None


@dataclass
class DealOut:
    id: int
    title: str
    contact_id: int | None
    company_id: int | None
    owner_id: int | None
    pipeline_id: int
    stage_id: int
    status: str
    amount_minor: int
    currency: str
    expected_close: dt.date | None
    source: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    lost_reason_id: int | None
    lost_comment: str
    stage_entered_at: dt.datetime
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass
class DealPage:
    data: list[DealOut]
    next_cursor: str | None


@dataclass
class DealIn:
    """A new deal. ``amount`` is in major units as text or a number (``"12500.50"``)."""

    title: str
    pipeline_id: int
    contact_id: int | None = None
    company_id: int | None = None
    stage_id: int | None = None
    owner_id: int | None = None
    amount: str | float | None = None
    currency: str | None = None
    expected_close: str | None = None
    source: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None


@dataclass
class MoveIn:
    stage_id: int
    lost_reason_id: int | None = None
    lost_comment: str = ""


def _deal_out(row: dict[str, Any]) -> DealOut:
    return DealOut(**{name: row[name] for name in DealOut.__dataclass_fields__})


def _stage_out(row: dict[str, Any]) -> StageOut:
    return StageOut(**{name: row[name] for name in StageOut.__dataclass_fields__})


def _invalid(exc: FunnelError) -> ApiProblem:
    return ApiProblem(422, "Invalid deal", str(exc), kind="validation", errors=exc.errors)


async def _visible(request: Request, deal_id: int) -> dict[str, Any]:
    try:
        deal = await get_deal(deal_id)
    except NotFound:
        raise ApiProblem(404, "Not found", f"no deal {deal_id}") from None
    if not can_see(deal["owner_id"], await restricted_to(request.scope["user"])):
        raise ApiProblem(404, "Not found", f"no deal {deal_id}")
    return deal


@get("/funnel/pipelines", guards=[requires_scope(READ)], operation_id="listFunnelPipelines")
async def api_pipelines(limit: ApiLimit = 50, cursor: ApiCursor = None) -> PipelinePage:
    """Pipelines with their stages in board order, by id."""
    query = FunnelPipeline.select().where(FunnelPipeline.archived == False)  # noqa: E712
    after = decode_cursor("funnel.pipelines", cursor, 1)
    if after is not None:
        query = query.where(FunnelPipeline.id > int(after[0]))
    rows = await query.order_by(FunnelPipeline.id).limit(limit + 1)
    page, next_cursor = cursor_page(rows, limit, "funnel.pipelines", lambda r: [r["id"]])
    stages: dict[int, list[StageOut]] = {}
    if page:
        for stage in await FunnelStage.select().where(
            FunnelStage.pipeline_id.is_in([p["id"] for p in page])
            & (FunnelStage.archived == False)  # noqa: E712
        ).order_by(FunnelStage.sort):
            stages.setdefault(stage["pipeline_id"], []).append(_stage_out(stage))
    return PipelinePage(
        data=[PipelineOut(p["id"], p["name"], p["is_default"], stages.get(p["id"], []))
              for p in page],
        next_cursor=next_cursor,
    )


@get("/funnel/pipelines/{pipeline_id:int}", guards=[requires_scope(READ)],
     operation_id="getFunnelPipeline")
async def api_pipeline(pipeline_id: ApiId) -> PipelineOut:
    """One pipeline with its stages in board order."""
    try:
        pipeline = await get_pipeline(pipeline_id)
    except NotFound:
        raise ApiProblem(404, "Not found", f"no pipeline {pipeline_id}") from None
    return PipelineOut(pipeline["id"], pipeline["name"], pipeline["is_default"],
                       [_stage_out(s) for s in await stages_of(pipeline_id)])


@get("/funnel/deals", guards=[requires_scope(READ)], operation_id="listFunnelDeals")
async def api_deals(
    request: Request,
    pipeline_id: QueryId = None,
    stage_id: QueryId = None,
    owner_id: QueryId = None,
    contact_id: QueryId = None,
    status: Annotated[Literal["open", "won", "lost"] | None, QueryParameter()] = None,
    limit: ApiLimit = 50,
    cursor: ApiCursor = None,
) -> DealPage:
    """Deals by id, filtered; only those the token's user may see."""
    query = FunnelDeal.select()
    for column, value in ((FunnelDeal.pipeline_id, pipeline_id), (FunnelDeal.stage_id, stage_id),
                          (FunnelDeal.owner_id, owner_id), (FunnelDeal.status, status)):
        if value is not None:
            query = query.where(column == value)
    if contact_id is not None:
        query = query.where((FunnelDeal.contact_id == contact_id)
                            | (FunnelDeal.company_id == contact_id))
    restricted = await restricted_to(request.scope["user"])
    if restricted is not None:
        query = query.where((FunnelDeal.owner_id == restricted) | FunnelDeal.owner_id.is_null())
    after = decode_cursor("funnel.deals", cursor, 1)
    if after is not None:
        query = query.where(FunnelDeal.id > int(after[0]))
    rows = await query.order_by(FunnelDeal.id).limit(limit + 1)
    page, next_cursor = cursor_page(rows, limit, "funnel.deals", lambda r: [r["id"]])
    return DealPage(data=[_deal_out(r) for r in page], next_cursor=next_cursor)


@get("/funnel/deals/{deal_id:int}", guards=[requires_scope(READ)], operation_id="getFunnelDeal")
async def api_deal(request: Request, deal_id: ApiId) -> DealOut:
    """One deal; 404 when it does not exist or the token's user may not see it."""
    return _deal_out(await _visible(request, deal_id))


@post("/funnel/deals", guards=[requires_scope(WRITE)], operation_id="createFunnelDeal",
      status_code=201)
async def api_create_deal(request: Request, data: JSONBody[DealIn]) -> DealOut:
    """Create a deal; without a stage it starts in the pipeline's first working stage, without
    an owner it belongs to the contact's owner, else to the token's user."""
    values = {k: v for k, v in data.__dict__.items() if v is not None}
    try:
        deal_id = await create_deal(values, actor_id=request.scope["user"]["id"])
    except FunnelError as exc:
        raise _invalid(exc) from None
    return _deal_out(await get_deal(deal_id))


@post("/funnel/deals/{deal_id:int}/move", guards=[requires_scope(WRITE)],
      operation_id="moveFunnelDeal", status_code=200)
async def api_move_deal(request: Request, deal_id: ApiId, data: JSONBody[MoveIn]) -> DealOut:
    """Move a deal to another stage of its pipeline; Lost needs ``lost_reason_id``."""
    await _visible(request, deal_id)
    try:
        await move_deal(deal_id, data.stage_id, actor_id=request.scope["user"]["id"],
                        lost_reason_id=data.lost_reason_id, lost_comment=data.lost_comment)
    except FunnelError as exc:
        raise _invalid(exc) from None
    return _deal_out(await get_deal(deal_id))


ROUTES = [api_pipelines, api_pipeline, api_deals, api_deal, api_create_deal, api_move_deal]
