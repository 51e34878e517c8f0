"""Pages: admin."""

ROUTES: list = []
