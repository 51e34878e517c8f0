"""Pages: my_day."""

ROUTES: list = []
