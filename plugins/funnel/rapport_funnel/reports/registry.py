"""The list of reports, in the order the reports page shows them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rapport.api import gettext as _

from rapport_funnel.reports import (
    attribution,
    conversion,
    forecast,
    goals,
    lost_reasons,
    reps,
    velocity,
)
from rapport_funnel.reports.base import Report, ReportFilters

BUILDERS: dict[str, Callable[[ReportFilters], Awaitable[Report]]] = {
    "conversion": conversion.build,
    "velocity": velocity.build,
    "lost": lost_reasons.build,
    "reps": reps.build,
    "attribution": attribution.build,
    "forecast": forecast.build,
    "goals": goals.build,
}


def titles() -> dict[str, str]:
    return {
        "conversion": _("Funnel conversion"),
        "velocity": _("Velocity"),
        "lost": _("Lost reasons"),
        "reps": _("Sales reps"),
        "attribution": _("Source and campaign attribution"),
        "forecast": _("Forecast"),
        "goals": _("Sales goals"),
    }
