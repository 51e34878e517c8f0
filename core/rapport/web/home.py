"""The landing page: a plain answer at ``/`` that tells nothing about the instance."""

from __future__ import annotations

from litestar import get
from litestar.response import Template


@get("/", include_in_schema=False, opt={"public": True})
async def home() -> Template:
    return Template("home.html")
