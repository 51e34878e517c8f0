"""Pages: search."""

ROUTES: list = []
