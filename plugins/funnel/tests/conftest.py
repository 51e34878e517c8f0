"""Helpers for the funnel's tests: a seeded pipeline and users, written through the services."""

from __future__ import annotations

import pytest


@pytest.fixture
async def pipeline(rapport):
    """The default pipeline seeded on enable, with its stages by name."""
    from rapport_funnel.pipelines import default_pipeline, stages_of

    row = await default_pipeline()
    stages = {s["name"]: s for s in await stages_of(row["id"])}
    return {"id": row["id"], "stages": stages}
