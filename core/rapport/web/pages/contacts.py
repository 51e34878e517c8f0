"""Pages: contacts."""

ROUTES: list = []
