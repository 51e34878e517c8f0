"""Turning what a user, an import or an API client sends into clean contact data.

Every problem is collected, keyed by field (``"emails.1"`` for the second email), so a form
can show each message next to its field and an import can report every bad cell of a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rapport.contacts.custom_fields import CustomValueError
from rapport.contacts.custom_fields_store import check_values
from rapport.contacts.emails import EmailError, normalise_email
from rapport.contacts.phones import Phone, PhoneError, normalise_phone

KINDS = ("person", "company")
TEXT_FIELDS = {
    "first_name": 150,
    "last_name": 150,
    "name": 300,
    "position": 150,
    "street": 300,
    "city": 150,
    "region": 150,
    "postcode": 32,
    "source": 100,
}


class ValidationError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class EmailValue:
    email: str
    normalized: str
    label: str = "work"


@dataclass(frozen=True)
class PhoneValue:
    phone: Phone
    label: str = "mobile"


@dataclass
class CleanContact:
    fields: dict[str, Any] = field(default_factory=dict)
    emails: list[EmailValue] | None = None  # None: not given (keep what is stored)
    phones: list[PhoneValue] | None = None
    tags: list[str] | None = None
    custom: dict[str, Any] | None = None


# Column widths of rapport_email.label, rapport_phone.label and rapport_phone.raw: PostgreSQL
# refuses longer values, SQLite would keep them, so both engines refuse them here first.
LABEL_MAX = 40
PHONE_RAW_MAX = 64


def _channel(item: Any, default_label: str) -> tuple[str, str]:
    if isinstance(item, dict):
        return str(item.get("value", "") or ""), str(item.get("label") or default_label)
    return str(item or ""), default_label


def _display_name(fields: dict[str, Any]) -> str:
    return " ".join(p for p in (fields.get("first_name", ""), fields.get("last_name", "")) if p)


async def clean_contact(
    data: dict[str, Any],
    *,
    region: str,
    partial: bool = False,
    current: dict[str, Any] | None = None,
) -> CleanContact:
    """Validate ``data``; with ``partial`` only the keys present are checked and returned."""
    errors: dict[str, str] = {}
    clean = CleanContact()
    known = set(TEXT_FIELDS) | {
        "kind",
        "company_id",
        "country",
        "owner_id",
        "emails",
        "phones",
        "tags",
        "custom",
    }
    for key in data:
        if key not in known:
            errors[key] = "is not a contact field"

    for key, max_length in TEXT_FIELDS.items():
        if key in data:
            value = str(data[key] or "").strip()
            if len(value) > max_length:
                errors[key] = f"must be at most {max_length} characters"
            clean.fields[key] = value
    if "kind" in data or not partial:
        kind = data.get("kind", "person")
        if kind not in KINDS:
            errors["kind"] = "must be person or company"
        clean.fields["kind"] = kind
    if "country" in data:
        country = str(data["country"] or "").strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            errors["country"] = "must be a two-letter ISO country code"
        clean.fields["country"] = country
    for key, column in (("company_id", "company"), ("owner_id", "owner")):
        if key in data:
            value = data[key]
            if value in (None, ""):
                clean.fields[column] = None
            else:
                try:
                    clean.fields[column] = int(value)
                except (TypeError, ValueError):
                    errors[key] = "must be an id"

    if "emails" in data:
        clean.emails = []
        seen: set[str] = set()
        for index, item in enumerate(data["emails"] or []):
            raw, label = _channel(item, "work")
            if not raw.strip():
                continue
            if len(label) > LABEL_MAX:
                errors[f"emails.{index}"] = f"the label must be at most {LABEL_MAX} characters"
                continue
            try:
                normalized = normalise_email(raw)
            except EmailError as exc:
                errors[f"emails.{index}"] = str(exc)
                continue
            if normalized not in seen:
                seen.add(normalized)
                clean.emails.append(EmailValue(raw.strip(), normalized, label))
    if "phones" in data:
        clean.phones = []
        seen_phones: set[str] = set()
        for index, item in enumerate(data["phones"] or []):
            raw, label = _channel(item, "mobile")
            if not raw.strip():
                continue
            if len(label) > LABEL_MAX or len(raw.strip()) > PHONE_RAW_MAX:
                what = "the label" if len(label) > LABEL_MAX else "a phone number"
                limit = LABEL_MAX if len(label) > LABEL_MAX else PHONE_RAW_MAX
                errors[f"phones.{index}"] = f"{what} must be at most {limit} characters"
                continue
            try:
                phone = normalise_phone(raw, region)
            except PhoneError as exc:
                errors[f"phones.{index}"] = str(exc)
                continue
            if phone.e164 not in seen_phones:
                seen_phones.add(phone.e164)
                clean.phones.append(PhoneValue(phone, label))
    if "tags" in data:
        tags = []
        for tag in data["tags"] or []:
            text = str(tag).strip()
            if len(text) > 80:
                errors["tags"] = "a tag must be at most 80 characters"
            elif text and text.casefold() not in {t.casefold() for t in tags}:
                tags.append(text)
        clean.tags = tags
    if "custom" in data:
        try:
            clean.custom = await check_values(dict(data["custom"] or {}))
        except CustomValueError as exc:
            errors[f"custom.{exc.key}"] = exc.message

    _complete_name(clean, errors, partial, current or {})
    if errors:
        raise ValidationError(errors)
    return clean


def _complete_name(
    clean: CleanContact, errors: dict[str, str], partial: bool, current: dict[str, Any]
) -> None:
    """A person's display name follows first/last name; a company needs a name."""
    merged = {**current, **clean.fields}
    kind = merged.get("kind", "person")
    if kind == "person":
        if "first_name" in clean.fields or "last_name" in clean.fields or not partial:
            name = _display_name(merged) or merged.get("name", "").strip()
            if not name:
                errors["first_name"] = "a person needs a first or last name"
            clean.fields["name"] = name
    elif "name" in clean.fields or not partial:
        if not merged.get("name", "").strip():
            errors["name"] = "a company needs a name"
