"""Custom fields: typed values on contacts, declared by admins or plugins."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

FIELD_TYPES = ("text", "number", "date", "choice", "bool")


@dataclass(frozen=True)
class CustomField:
    key: str
    label: str
    type: str = "text"
    choices: tuple[str, ...] = ()


class CustomValueError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def coerce_value(field: CustomField, value: Any) -> Any:
    """Return ``value`` as stored in JSON for ``field``, or raise :class:`CustomValueError`."""
    if value is None or value == "":
        return None
    if field.type == "text":
        return str(value)
    if field.type == "number":
        if isinstance(value, bool):
            raise CustomValueError(field.key, "must be a number")
        try:
            number = Decimal(str(value).replace(",", ".").replace(" ", ""))
        except InvalidOperation as exc:
            raise CustomValueError(field.key, "must be a number") from exc
        return int(number) if number == number.to_integral_value() else float(number)
    if field.type == "date":
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise CustomValueError(field.key, "must be a date (YYYY-MM-DD)") from exc
    if field.type == "choice":
        if str(value) not in field.choices:
            raise CustomValueError(field.key, f"must be one of {', '.join(field.choices)}")
        return str(value)
    if field.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on", "да"}:
            return True
        if text in {"0", "false", "no", "off", "нет"}:
            return False
        raise CustomValueError(field.key, "must be yes or no")
    raise CustomValueError(field.key, f"unknown field type {field.type!r}")
