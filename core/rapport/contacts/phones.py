"""Phone numbers: what people type → E.164, and the digits search needs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

_NON_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class Phone:
    raw: str
    e164: str

    @property
    def reversed_digits(self) -> str:
        return reverse_digits(self.e164)


class PhoneError(ValueError):
    pass


def normalise_phone(raw: str, region: str) -> Phone:
    """Parse ``raw`` as typed (``8 (912) 345-67-89``, ``+7 912…``, ``00 44…``) into E.164.

    ``region`` is the instance's default region, used when the number has no country code.
    Raises :class:`PhoneError` with a message fit for the user when it is not a number.
    """
    text = raw.strip()
    if not text:
        raise PhoneError("is empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError("is not a phone number") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise PhoneError("is not a possible phone number (check the number of digits)")
    return Phone(
        raw=raw.strip(),
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
    )


def try_normalise(raw: str, region: str) -> str | None:
    """E.164 for ``raw`` or None; for search and matching, where a miss is not an error."""
    try:
        return normalise_phone(raw, region).e164
    except PhoneError:
        return None


def digits(text: str) -> str:
    return _NON_DIGITS.sub("", text)


def reverse_digits(text: str) -> str:
    return digits(text)[::-1]


def format_international(e164: str) -> str:
    """``+79123456789`` → ``+7 912 345-67-89`` for display."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164
