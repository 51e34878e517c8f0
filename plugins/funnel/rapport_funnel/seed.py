"""Defaults seeded when the funnel is enabled: a pipeline for new clients and lost reasons.

Idempotent: an existing pipeline or reason is left as the admin shaped it.
"""

from __future__ import annotations

from rapport.api import gettext as _

from rapport_funnel.pipelines import create_pipeline
from rapport_funnel.tables import FunnelLostReason, FunnelPipeline


def default_stages() -> list[dict[str, object]]:
    return [
        {"name": _("Qualification"), "probability": 10, "idle_days": 7, "followup_days": 1},
        {"name": _("Needs analysis"), "probability": 25, "idle_days": 10, "followup_days": 3},
        {"name": _("Proposal"), "probability": 50, "idle_days": 14, "followup_days": 3},
        {"name": _("Negotiation"), "probability": 75, "idle_days": 14, "followup_days": 2},
    ]


def default_reasons() -> list[str]:
    return [
        _("Price too high"),
        _("Chose a competitor"),
        _("No budget"),
        _("No response"),
        _("Bad timing"),
        _("Not a fit"),
    ]


async def seed_defaults() -> None:
    if not await FunnelPipeline.exists():
        await create_pipeline(_("New clients"), default_stages(), is_default=True)
    if not await FunnelLostReason.exists():
        await FunnelLostReason.insert(
            *[FunnelLostReason(name=name, sort=i) for i, name in enumerate(default_reasons())]
        )
