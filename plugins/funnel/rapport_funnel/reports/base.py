"""What every report shares: its filters, its result, and the SQL filter on deals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReportFilters:
    since: dt.datetime  # inclusive
    until: dt.datetime  # exclusive
    pipeline_id: int | None = None
    owner_id: int | None = None
    source: str = ""


@dataclass
class Bar:
    label: str
    value: float
    text: str = ""  # shown beside the bar; the value when empty


@dataclass
class Report:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def deal_filter(
    filters: ReportFilters, alias: str = "d", *, created_in_period: bool = False,
    closed_in_period: bool = False,
) -> tuple[str, list[Any]]:
    """A SQL condition on the deals table (as ``alias``) and its arguments, in Piccolo's
    ``{}`` placeholder style."""
    parts: list[str] = ["1 = 1"]
    args: list[Any] = []
    if filters.pipeline_id is not None:
        parts.append(f"{alias}.pipeline_id = {{}}")
        args.append(filters.pipeline_id)
    if filters.owner_id is not None:
        parts.append(f"{alias}.owner_id = {{}}")
        args.append(filters.owner_id)
    if filters.source:
        parts.append(f"{alias}.source = {{}}")
        args.append(filters.source)
    if created_in_period:
        parts.append(f"{alias}.created_at >= {{}} AND {alias}.created_at < {{}}")
        args.extend([filters.since, filters.until])
    if closed_in_period:
        parts.append(f"{alias}.closed_at >= {{}} AND {alias}.closed_at < {{}}")
        args.extend([filters.since, filters.until])
    return " AND ".join(parts), args


def percent(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def major(minor: Any) -> float:
    """Minor units to a plain number for tables and CSV (12500.5)."""
    return round(int(minor or 0) / 100, 2)
