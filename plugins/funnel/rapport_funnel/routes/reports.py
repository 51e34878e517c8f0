"""Report pages (HTML with an SVG chart) and their CSV downloads, for managers."""

from __future__ import annotations

import datetime as dt

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from rapport.api import active_users, page, requires_permission

from rapport_funnel.errors import FunnelError
from rapport_funnel.pipelines import default_pipeline, list_pipelines
from rapport_funnel.reports import goals, registry, svg
from rapport_funnel.reports.base import ReportFilters
from rapport_funnel.reports.csv_export import to_csv
from rapport_funnel.reports.summary import sources_of
from rapport_funnel.routes.common import Form, int_or_none, text

REPORTS = "funnel.reports.view"
GUARD = [requires_permission(REPORTS)]


def _day(value: str, fallback: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return fallback


async def _filters(
    start: str, end: str, pipeline: str, owner: str, source: str
) -> tuple[ReportFilters, dict[str, str]]:
    today = dt.datetime.now(dt.UTC).date()
    first = _day(start, today.replace(day=1))
    last = _day(end, today)
    if last < first:
        first, last = last, first
    pipeline_id = int_or_none(pipeline)
    if pipeline_id is None:
        default = await default_pipeline()
        pipeline_id = default["id"] if default else None
    filters = ReportFilters(
        since=dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC),
        until=dt.datetime(last.year, last.month, last.day, tzinfo=dt.UTC)
        + dt.timedelta(days=1),
        pipeline_id=pipeline_id,
        owner_id=int_or_none(owner),
        source=source[:120],
    )
    shown = {"start": first.isoformat(), "end": last.isoformat(),
             "pipeline": str(pipeline_id or ""), "owner": owner, "source": source[:120]}
    return filters, shown


@get("/funnel/reports", name="funnel:reports", guards=GUARD)
async def reports_index() -> Redirect:
    return Redirect("/funnel/reports/conversion", status_code=303)


@get("/funnel/reports/{key:str}", name="funnel:report", guards=GUARD)
async def report_page(
    request: Request,
    key: FromPath[str],
    start: FromQuery[str] = "",
    end: FromQuery[str] = "",
    pipeline: FromQuery[str] = "",
    owner: FromQuery[str] = "",
    source: FromQuery[str] = "",
    format: FromQuery[str] = "html",
) -> Template | Response:
    builder = registry.BUILDERS.get(key)
    if builder is None:
        raise NotFoundException()
    filters, shown = await _filters(start, end, pipeline, owner, source)
    report = await builder(filters)
    if format == "csv":
        name = f"{key}-{shown['start']}-{shown['end']}.csv"
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    bars, height = svg.layout(report.bars)
    query = "&".join(f"{k}={v}" for k, v in shown.items() if v)
    return await page(
        request, "funnel/report.html", report=report, bars=bars, chart_height=height,
        chart=svg, titles=registry.titles(), key=key, shown=shown, query=query,
        pipelines=await list_pipelines(), owners=await active_users(),
        sources=await sources_of(filters.pipeline_id) if filters.pipeline_id else [],
        errors={}, values={},
    )


@post("/funnel/goals", name="funnel:goal_add", guards=GUARD)
async def goal_add(request: Request, data: Form) -> Template | Redirect:
    try:
        await goals.add_goal(
            int_or_none(data.get("goal_owner")), text(data, "goal_start"),
            text(data, "goal_end"), text(data, "goal_target"), text(data, "goal_currency"),
        )
    except FunnelError as exc:
        filters, shown = await _filters(text(data, "goal_start"), text(data, "goal_end"),
                                        "", "", "")
        report = await goals.build(filters)
        bars, height = svg.layout(report.bars)
        return await page(
            request, "funnel/report.html", status_code=422, report=report, bars=bars,
            chart_height=height, chart=svg, titles=registry.titles(), key="goals",
            shown=shown, query="", pipelines=await list_pipelines(),
            owners=await active_users(), sources=[], errors=exc.errors,
            values={k: text(data, k) for k in data},
        )
    start = text(data, "goal_start")
    end = text(data, "goal_end")
    return Redirect(f"/funnel/reports/goals?start={start}&end={end}", status_code=303)


ROUTES = [reports_index, goal_add, report_page]
