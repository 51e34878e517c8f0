"""Errors the funnel's services raise, with a message per field for forms and the API."""

from __future__ import annotations


class FunnelError(ValueError):
    """Bad input: ``errors`` maps each field to a message the UI shows next to it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(LookupError):
    """The pipeline, stage or deal does not exist."""
