"""The funnel's settings for admins: pipelines and their stages, lost reasons."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from rapport.api import page, requires_permission

from rapport_funnel import lost_reasons, pipelines, products
from rapport_funnel.errors import FunnelError, NotFound
from rapport_funnel.routes.common import Form, text

MANAGE = "funnel.manage"
GUARD = [requires_permission(MANAGE)]


async def _settings_page(
    request: Request, errors: dict[str, str] | None = None, values: dict | None = None,
    status: int = 200,
) -> Template:
    return await page(
        request, "funnel/settings.html", status_code=status,
        pipelines=await pipelines.list_pipelines(),
        reasons=await lost_reasons.list_reasons(include_inactive=True),
        products=await products.list_products(include_inactive=True),
        errors=errors or {}, values=values or {},
    )


@get("/funnel/settings", name="funnel:settings", guards=GUARD)
async def settings_page(request: Request) -> Template:
    return await _settings_page(request)


def _stage_lines(raw: str) -> list[dict[str, object]]:
    """One stage per line: ``Name`` or ``Name, probability``."""
    stages = []
    for line in raw.splitlines():
        name, _sep, probability = line.partition(",")
        if name.strip():
            stages.append({"name": name.strip(), "probability": probability.strip() or 0})
    return stages


@post("/funnel/settings/pipelines", name="funnel:pipeline_create", guards=GUARD)
async def pipeline_create(request: Request, data: Form) -> Template | Redirect:
    values = {"name": text(data, "name", 200), "stages": text(data, "stages", 5000)}
    try:
        pipeline_id = await pipelines.create_pipeline(
            values["name"], _stage_lines(values["stages"])
        )
    except FunnelError as exc:
        errors = {("stages" if k.startswith("stages") else k): v for k, v in exc.errors.items()}
        return await _settings_page(request, errors, values, status=422)
    return Redirect(f"/funnel/settings/pipelines/{pipeline_id}", status_code=303)


async def _pipeline_page(
    request: Request, pipeline_id: int, errors: dict[str, str] | None = None, status: int = 200
) -> Template:
    try:
        pipeline = await pipelines.get_pipeline(pipeline_id)
    except NotFound:
        raise NotFoundException() from None
    return await page(
        request, "funnel/pipeline_edit.html", status_code=status, pipeline=pipeline,
        stages=await pipelines.stages_of(pipeline_id), errors=errors or {},
    )


@get("/funnel/settings/pipelines/{pipeline_id:int}", name="funnel:pipeline_edit", guards=GUARD)
async def pipeline_edit(request: Request, pipeline_id: FromPath[int]) -> Template:
    return await _pipeline_page(request, pipeline_id)


@post("/funnel/settings/pipelines/{pipeline_id:int}/stages", name="funnel:stage_add",
      guards=GUARD)
async def stage_add(
    request: Request, pipeline_id: FromPath[int], data: Form
) -> Template | Redirect:
    try:
        await pipelines.add_stage(pipeline_id, text(data, "name", 200),
                                  text(data, "probability") or 0)
    except FunnelError as exc:
        errors = {"new_" + k: v for k, v in exc.errors.items()}
        return await _pipeline_page(request, pipeline_id, errors, 422)
    return Redirect(f"/funnel/settings/pipelines/{pipeline_id}", status_code=303)


@post("/funnel/settings/stages/{stage_id:int}", name="funnel:stage_save", guards=GUARD)
async def stage_save(request: Request, stage_id: FromPath[int], data: Form) -> Template | Redirect:
    try:
        stage = await pipelines.get_stage(stage_id)
    except NotFound:
        raise NotFoundException() from None
    try:
        if text(data, "action") == "archive":
            await pipelines.archive_stage(stage_id)
        else:
            await pipelines.update_stage(stage_id, {
                key: text(data, key)
                for key in ("name", "probability", "idle_days", "followup_days", "colour")
                if key in data
            })
    except FunnelError as exc:
        errors = {f"stage-{stage_id}-{k}": v for k, v in exc.errors.items()}
        return await _pipeline_page(request, stage["pipeline_id"], errors, 422)
    return Redirect(f"/funnel/settings/pipelines/{stage['pipeline_id']}", status_code=303)


@post("/funnel/settings/pipelines/{pipeline_id:int}/default", name="funnel:pipeline_default",
      guards=GUARD)
async def pipeline_default(request: Request, pipeline_id: FromPath[int]) -> Redirect:
    try:
        await pipelines.set_default_pipeline(pipeline_id)
    except NotFound:
        raise NotFoundException() from None
    return Redirect("/funnel/settings", status_code=303)


@post("/funnel/settings/reasons", name="funnel:reason_add", guards=GUARD)
async def reason_add(request: Request, data: Form) -> Template | Redirect:
    try:
        await lost_reasons.add_reason(text(data, "reason", 200))
    except FunnelError as exc:
        return await _settings_page(
            request, {"reason": exc.errors["name"]}, {"reason": text(data, "reason")}, 422
        )
    return Redirect("/funnel/settings#reasons", status_code=303)


@post("/funnel/settings/reasons/{reason_id:int}", name="funnel:reason_toggle", guards=GUARD)
async def reason_toggle(request: Request, reason_id: FromPath[int], data: Form) -> Redirect:
    await lost_reasons.set_reason_active(reason_id, text(data, "active") == "1")
    return Redirect("/funnel/settings#reasons", status_code=303)


@post("/funnel/settings/products", name="funnel:product_add", guards=GUARD)
async def product_add(request: Request, data: Form) -> Template | Redirect:
    values = {k: text(data, k, 200) for k in ("product_name", "product_sku", "product_price")}
    try:
        await products.add_product(
            values["product_name"], values["product_price"], values["product_sku"]
        )
    except FunnelError as exc:
        return await _settings_page(request, exc.errors, values, 422)
    return Redirect("/funnel/settings#products", status_code=303)


@post("/funnel/settings/products/{product_id:int}", name="funnel:product_toggle", guards=GUARD)
async def product_toggle(request: Request, product_id: FromPath[int], data: Form) -> Redirect:
    await products.set_product_active(product_id, text(data, "active") == "1")
    return Redirect("/funnel/settings#products", status_code=303)


ROUTES = [settings_page, pipeline_create, pipeline_edit, stage_add, stage_save,
          pipeline_default, reason_add, reason_toggle, product_add, product_toggle]
