"""Email addresses: checking what people type and the normalised form duplicates match on."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class EmailError(ValueError):
    pass


def normalise_email(raw: str) -> str:
    """Check ``raw`` and return the form matching uses: the address, domain and local part
    lower-cased (mail systems treat local parts case-insensitively in practice)."""
    text = raw.strip()
    if not text:
        raise EmailError("is empty")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise EmailError(f"is not an email address ({exc})") from exc
    return result.normalized.lower()


def try_normalise_email(raw: str) -> str | None:
    try:
        return normalise_email(raw)
    except EmailError:
        return None
