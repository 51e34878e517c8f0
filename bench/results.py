"""What a scenario reports: one row per measured variant, and how rows become a table."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.timing import Sample


@dataclass
class Row:
    scenario: str  # "1. card page"
    variant: str  # "person, full timeline"
    rapport: Sample | None = None
    baseline: Sample | None = None
    unit: str = "ms"  # "ms", "µs" (durations) or "/s" (rates: rapport_rate, baseline_rate)
    rapport_rate: float | None = None
    baseline_rate: float | None = None
    target: str = ""
    met: bool | None = None  # None: no target, or not measurable at this size
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Rapport over the baseline: p95 over p95 for durations, baseline over Rapport for
        rates (so above 1 always means Rapport is slower)."""
        if self.unit == "/s":
            if self.rapport_rate and self.baseline_rate:
                return self.baseline_rate / self.rapport_rate
            return None
        if self.rapport and self.baseline and self.baseline.seconds and self.rapport.seconds:
            return self.rapport.p95 / self.baseline.p95
        return None


def skipped(scenario: str, reason: str) -> Row:
    return Row(scenario, "—", unit="", note=reason)


def _duration(seconds: float, unit: str) -> str:
    if seconds is None or math.isnan(seconds):
        return "—"
    value = seconds * (1_000_000 if unit == "µs" else 1000)
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _memory(sample: Sample | None) -> str:
    if sample is None or not sample.peak_bytes:
        return "—"
    return f"{sample.peak_bytes / 1024:,.0f} KiB"


def cells(row: Row) -> list[str]:
    if row.unit in ("/s", "MB"):
        suffix = "/s" if row.unit == "/s" else " MB"
        rapport = f"{row.rapport_rate:,.0f}{suffix}" if row.rapport_rate else "—"
        baseline = f"{row.baseline_rate:,.0f}{suffix}" if row.baseline_rate else "—"
        rapport_cells = [rapport, ""]
        baseline_cells = [baseline, ""]
    elif row.unit:
        rapport_cells = [
            _duration(row.rapport.p50, row.unit) if row.rapport else "—",
            _duration(row.rapport.p95, row.unit) if row.rapport else "—",
        ]
        baseline_cells = [
            _duration(row.baseline.p50, row.unit) if row.baseline else "—",
            _duration(row.baseline.p95, row.unit) if row.baseline else "—",
        ]
    else:
        rapport_cells = baseline_cells = ["—", "—"]
    ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
    verdict = {True: "met", False: "**missed**", None: "—"}[row.met]
    unit = row.unit or "—"
    return [
        row.scenario,
        row.variant,
        unit,
        *rapport_cells,
        *baseline_cells,
        ratio,
        f"{_memory(row.rapport)} / {_memory(row.baseline)}",
        row.target or "—",
        verdict,
        row.note,
    ]


HEADER = [
    "scenario",
    "variant",
    "unit",
    "Rapport p50",
    "Rapport p95",
    "baseline p50",
    "baseline p95",
    "ratio",
    "peak traced memory (Rapport / baseline)",
    "target",
    "verdict",
    "note",
]


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells(row)) + " |")
    return "\n".join(lines)


def text_table(rows: list[Row]) -> str:
    table = [HEADER[:9] + ["verdict"]] + [cells(r)[:9] + [cells(r)[10]] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    out = []
    for n, line in enumerate(table):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  {r.scenario} / {r.variant}: {r.note}" for r in rows if r.note]
    return "\n".join(out + (["", "notes:", *notes] if notes else []))
