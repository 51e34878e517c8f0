"""Pipelines and their stages: reading, creating, editing, and the default pipeline.

Every pipeline ends in one Won and one Lost stage; working stages are ordered by ``sort``
(1, 2, …) and the closing stages keep fixed sort keys above them, so "further along" is a
plain comparison of sort keys.
"""

from __future__ import annotations

from typing import Any

from rapport.api import gettext as _
from rapport.api import transaction

from rapport_funnel.errors import FunnelError, NotFound
from rapport_funnel.tables import (
    IN_PROGRESS,
    LOST,
    LOST_SORT,
    WON,
    WON_SORT,
    FunnelDeal,
    FunnelPipeline,
    FunnelStage,
)

DEFAULT_COLOURS = ("#2563eb", "#0891b2", "#7c3aed", "#db2777", "#ea580c", "#65a30d")


async def list_pipelines(*, include_archived: bool = False) -> list[dict[str, Any]]:
    query = FunnelPipeline.select().order_by(FunnelPipeline.sort).order_by(FunnelPipeline.id)
    if not include_archived:
        query = query.where(FunnelPipeline.archived == False)  # noqa: E712
    return await query


async def get_pipeline(pipeline_id: int) -> dict[str, Any]:
    row = await FunnelPipeline.select().where(FunnelPipeline.id == pipeline_id).first()
    if row is None:
        raise NotFound(f"pipeline {pipeline_id}")
    return row


async def stages_of(pipeline_id: int, *, include_archived: bool = False) -> list[dict[str, Any]]:
    query = FunnelStage.select().where(FunnelStage.pipeline_id == pipeline_id)
    if not include_archived:
        query = query.where(FunnelStage.archived == False)  # noqa: E712
    return await query.order_by(FunnelStage.sort).order_by(FunnelStage.id)


async def get_stage(stage_id: int) -> dict[str, Any]:
    row = await FunnelStage.select().where(FunnelStage.id == stage_id).first()
    if row is None:
        raise NotFound(f"stage {stage_id}")
    return row


async def default_pipeline() -> dict[str, Any] | None:
    """The pipeline marked default, else the first one."""
    rows = await list_pipelines()
    for row in rows:
        if row["is_default"]:
            return row
    return rows[0] if rows else None


def first_working_stage(stages: list[dict[str, Any]]) -> dict[str, Any]:
    for stage in stages:
        if stage["semantic"] == IN_PROGRESS:
            return stage
    return stages[0]


def _check_probability(value: Any, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FunnelError({field: _("Enter a whole number from 0 to 100.")}) from None
    if not 0 <= number <= 100:
        raise FunnelError({field: _("Enter a whole number from 0 to 100.")})
    return number


def _check_days(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FunnelError({field: _("Enter a number of days, or leave it empty.")}) from None
    if not 0 <= number <= 3650:
        raise FunnelError({field: _("Enter a number of days, or leave it empty.")})
    return number


async def create_pipeline(
    name: str,
    stages: list[dict[str, Any]],
    *,
    won_name: str | None = None,
    lost_name: str | None = None,
    is_default: bool = False,
) -> int:
    """Create a pipeline with its working ``stages`` (dicts: name, probability, idle_days,
    followup_days, colour) followed by Won and Lost. Returns its id."""
    name = (name or "").strip()
    if not name:
        raise FunnelError({"name": _("Give the pipeline a name.")})
    if len(name) > 120:
        raise FunnelError({"name": _("At most 120 characters.")})
    working = [s for s in stages if (s.get("name") or "").strip()]
    if not working:
        raise FunnelError({"stages": _("Add at least one stage.")})
    async with transaction():
        if await FunnelPipeline.exists().where(FunnelPipeline.name == name):
            raise FunnelError({"name": _("A pipeline with this name exists already.")})
        if is_default or not await FunnelPipeline.exists():
            await FunnelPipeline.update({FunnelPipeline.is_default: False}).where(
                FunnelPipeline.is_default == True  # noqa: E712
            )
            is_default = True
        sort = await FunnelPipeline.count()
        rows = await FunnelPipeline.insert(
            FunnelPipeline(name=name, sort=sort, is_default=is_default)
        ).returning(FunnelPipeline.id)
        pipeline_id = rows[0]["id"]
        new = []
        for position, stage in enumerate(working, start=1):
            new.append(
                FunnelStage(
                    pipeline_id=pipeline_id,
                    name=stage["name"].strip()[:120],
                    sort=position,
                    colour=stage.get("colour") or DEFAULT_COLOURS[(position - 1) % 6],
                    probability=_check_probability(
                        stage.get("probability", 0), f"stages.{position}.probability"
                    ),
                    semantic=IN_PROGRESS,
                    idle_days=_check_days(stage.get("idle_days"), f"stages.{position}.idle_days"),
                    followup_days=_check_days(
                        stage.get("followup_days"), f"stages.{position}.followup_days"
                    ),
                )
            )
        new.append(
            FunnelStage(
                pipeline_id=pipeline_id, name=won_name or _("Won"), sort=WON_SORT,
                colour="#16a34a", probability=100, semantic=WON,
            )
        )
        new.append(
            FunnelStage(
                pipeline_id=pipeline_id, name=lost_name or _("Lost"), sort=LOST_SORT,
                colour="#dc2626", probability=0, semantic=LOST,
            )
        )
        await FunnelStage.insert(*new)
    return pipeline_id


async def update_stage(stage_id: int, values: dict[str, Any]) -> None:
    """Change a stage's name, colour, probability, idle and follow-up days."""
    stage = await get_stage(stage_id)
    changes: dict[Any, Any] = {}
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name:
            raise FunnelError({"name": _("Give the stage a name.")})
        changes[FunnelStage.name] = name[:120]
    if "probability" in values and stage["semantic"] == IN_PROGRESS:
        changes[FunnelStage.probability] = _check_probability(values["probability"], "probability")
    if "idle_days" in values:
        changes[FunnelStage.idle_days] = _check_days(values["idle_days"], "idle_days")
    if "followup_days" in values:
        changes[FunnelStage.followup_days] = _check_days(values["followup_days"], "followup_days")
    if values.get("colour"):
        colour = str(values["colour"])
        if len(colour) != 7 or not colour.startswith("#"):
            raise FunnelError({"colour": _("Pick a colour.")})
        changes[FunnelStage.colour] = colour
    if changes:
        await FunnelStage.update(changes).where(FunnelStage.id == stage_id)


async def add_stage(pipeline_id: int, name: str, probability: Any = 0) -> int:
    """Append a working stage before Won and Lost."""
    await get_pipeline(pipeline_id)
    name = (name or "").strip()
    if not name:
        raise FunnelError({"name": _("Give the stage a name.")})
    probability = _check_probability(probability, "probability")
    async with transaction():
        working = [s for s in await stages_of(pipeline_id) if s["semantic"] == IN_PROGRESS]
        sort = (max((s["sort"] for s in working), default=0)) + 1
        rows = await FunnelStage.insert(
            FunnelStage(
                pipeline_id=pipeline_id, name=name[:120], sort=sort,
                colour=DEFAULT_COLOURS[(sort - 1) % 6], probability=probability,
            )
        ).returning(FunnelStage.id)
    return rows[0]["id"]


async def archive_stage(stage_id: int) -> None:
    """Hide a working stage that holds no open deal (history keeps referring to it)."""
    stage = await get_stage(stage_id)
    if stage["semantic"] != IN_PROGRESS:
        raise FunnelError({"stage": _("Won and Lost cannot be removed.")})
    if await FunnelDeal.exists().where(
        (FunnelDeal.stage_id == stage_id) & (FunnelDeal.status == "open")
    ):
        raise FunnelError({"stage": _("Move the deals out of this stage first.")})
    await FunnelStage.update({FunnelStage.archived: True}).where(FunnelStage.id == stage_id)


async def set_default_pipeline(pipeline_id: int) -> None:
    await get_pipeline(pipeline_id)
    async with transaction():
        await FunnelPipeline.update({FunnelPipeline.is_default: False}).where(
            FunnelPipeline.id != pipeline_id
        )
        await FunnelPipeline.update({FunnelPipeline.is_default: True}).where(
            FunnelPipeline.id == pipeline_id
        )


async def find_pipeline(ref: str | int | None) -> dict[str, Any] | None:
    """A pipeline named by id or by name (case-insensitive); None when nothing matches."""
    if ref is None or str(ref).strip() == "":
        return None
    text = str(ref).strip()
    if text.isdigit():
        row = await FunnelPipeline.select().where(FunnelPipeline.id == int(text)).first()
        if row is not None:
            return row
    for row in await list_pipelines():
        if row["name"].casefold() == text.casefold():
            return row
    return None


def find_stage(stages: list[dict[str, Any]], ref: str | int | None) -> dict[str, Any] | None:
    """A stage of the given list named by id or by name (case-insensitive)."""
    if ref is None or str(ref).strip() == "":
        return None
    text = str(ref).strip()
    for stage in stages:
        if text.isdigit() and stage["id"] == int(text):
            return stage
    for stage in stages:
        if stage["name"].casefold() == text.casefold():
            return stage
    return None
