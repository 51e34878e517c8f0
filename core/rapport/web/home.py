"""``/``: signed-in users start on their day, others at the sign-in page."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Redirect


@get("/", include_in_schema=False, opt={"public": True})
async def home(request: Request) -> Redirect:
    return Redirect("/my-day" if request.scope.get("user") else "/login")
