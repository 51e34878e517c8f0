"""What a form is made of, and turning what a visitor typed into contact data.

A form's ``fields`` column holds a list of field definitions::

    {"key": "email", "kind": "email", "required": true,
     "label": {"en": "Email", "ru": "Эл. почта"}, "custom_key": ""}

``kind`` says where the value goes on the contact:

========== =====================================================================
name       the contact's name
email      one of its emails (matching uses it)
phone      one of its phones, normalised to E.164 (matching uses it)
company    the custom field ``company_name`` (a company record is for a person to
           create: a typed name is not a reliable key)
city       the contact's city (territory rules compare it)
region     the contact's region
country    the contact's country: a two-letter code, or a country's name in English
           or Russian, read into its code
message    the text of the "form submitted" activity
consent    a checkbox; the submission records that it was ticked, when, and its label
custom     the contact custom field named by ``custom_key``
========== =====================================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from rapport.api import PhoneError, gettext, normalise_phone, settings

FIELD_KINDS = (
    "name",
    "email",
    "phone",
    "company",
    "city",
    "region",
    "country",
    "message",
    "consent",
    "custom",
)
ADDRESS_KINDS = ("city", "region", "country")
LANGUAGES = ("en", "ru")
MAX_VALUE = 2000
MAX_MESSAGE = 5000

# The fields a new form starts with (labels in both languages the instance speaks).
DEFAULT_FIELDS: list[dict[str, Any]] = [
    {
        "key": "name",
        "kind": "name",
        "required": True,
        "label": {"en": "Your name", "ru": "Ваше имя"},
    },
    {
        "key": "email",
        "kind": "email",
        "required": False,
        "label": {"en": "Email", "ru": "Эл. почта"},
    },
    {"key": "phone", "kind": "phone", "required": False, "label": {"en": "Phone", "ru": "Телефон"}},
    {
        "key": "company",
        "kind": "company",
        "required": False,
        "label": {"en": "Company", "ru": "Компания"},
    },
    {
        "key": "message",
        "kind": "message",
        "required": False,
        "label": {"en": "Message", "ru": "Сообщение"},
    },
    {
        "key": "consent",
        "kind": "consent",
        "required": True,
        "label": {
            "en": "I agree to the processing of my personal data",
            "ru": "Я согласен на обработку персональных данных",
        },
    },
]

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
HONEYPOT = "website_url"  # a field people never see; bots fill it in
TOKEN_FIELD = "_t"


@dataclass(frozen=True)
class FormField:
    key: str
    kind: str
    required: bool
    label: dict[str, str]
    custom_key: str = ""

    def label_in(self, language: str) -> str:
        return self.label.get(language) or self.label.get("en") or self.key

    def public(self, language: str) -> dict[str, Any]:
        """What the snippet needs to draw the field."""
        return {
            "key": self.key,
            "kind": self.kind,
            "required": self.required,
            "label": self.label_in(language),
        }


def parse_fields(value: Any) -> list[FormField]:
    raw = json.loads(value) if isinstance(value, str) else value
    fields = []
    for item in raw or []:
        if not isinstance(item, dict) or item.get("kind") not in FIELD_KINDS:
            continue
        label = item.get("label") or {}
        if isinstance(label, str):
            label = {"en": label}
        fields.append(
            FormField(
                key=str(item.get("key") or item["kind"]),
                kind=str(item["kind"]),
                required=bool(item.get("required")),
                label={str(k): str(v) for k, v in label.items()},
                custom_key=str(item.get("custom_key") or ""),
            )
        )
    return fields


@dataclass
class Mapped:
    """A submission turned into contact data, or the reasons it cannot be."""

    name: str = ""
    email: str = ""
    phone: str = ""  # as typed
    phone_e164: str = ""
    company: str = ""
    message: str = ""
    consent: str = ""  # the label the visitor agreed to, empty when not asked or not ticked
    custom: dict[str, Any] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)  # city, region, country (ISO code)
    errors: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "phone_e164": self.phone_e164,
            "company": self.company,
            "message": self.message,
            "consent": self.consent,
            "custom": self.custom,
            "address": self.address,
        }


def mapped_from_json(values: dict[str, Any]) -> Mapped:
    """The :class:`Mapped` a stored submission's ``mapped`` column holds (``as_json``)."""
    text = ("name", "email", "phone", "phone_e164", "company", "message", "consent")
    return Mapped(
        **{k: str(values.get(k) or "") for k in text},
        custom=dict(values.get("custom") or {}),
        address={k: str(v) for k, v in (values.get("address") or {}).items()},
    )


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Country names in English and Russian (and the codes themselves) → ISO 3166 code."""
    names: dict[str, str] = {}
    for language in LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names[name.casefold()] = code
                names[code.casefold()] = code
    return names


def country_code(value: str) -> str | None:
    """``"RU"``, ``"ru"``, ``"Russia"``, ``"Россия"`` → ``"RU"``; None when unknown."""
    return _country_names().get(value.strip().casefold())


def _text(values: dict[str, Any], key: str, limit: int) -> str:
    value = values.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value if value is not None else "").strip()[:limit]


def map_values(fields: list[FormField], values: dict[str, Any], language: str) -> Mapped:
    """Check ``values`` against the form's fields and map them; messages in ``language``
    (the caller translates in that language: this reads the active one)."""
    mapped = Mapped()
    for f in fields:
        limit = MAX_MESSAGE if f.kind == "message" else MAX_VALUE
        value = _text(values, f.key, limit)
        if f.kind == "consent":
            ticked = value.lower() in ("on", "true", "1", "yes")
            if f.required and not ticked:
                mapped.errors[f.key] = gettext("Please tick this box to send the form.")
            if ticked:
                mapped.consent = f.label_in(language)
            continue
        if not value:
            if f.required:
                mapped.errors[f.key] = gettext("Please fill in this field.")
            continue
        if f.kind == "email":
            try:
                validate_email(value, check_deliverability=False)
            except EmailNotValidError:
                mapped.errors[f.key] = gettext("Enter an email address, like name@example.com.")
                continue
            mapped.email = value
        elif f.kind == "phone":
            try:
                mapped.phone_e164 = normalise_phone(value, settings().phone_region).e164
            except PhoneError:
                mapped.errors[f.key] = gettext("Enter a phone number, like +7 912 345-67-89.")
                continue
            mapped.phone = value
        elif f.kind == "name":
            mapped.name = value[:300]
        elif f.kind == "company":
            mapped.company = value[:300]
        elif f.kind == "message":
            mapped.message = value
        elif f.kind == "country":
            code = country_code(value)
            if code is None:
                mapped.errors[f.key] = gettext("Enter the country's name or its two-letter code.")
                continue
            mapped.address["country"] = code
        elif f.kind in ADDRESS_KINDS:
            mapped.address[f.kind] = value[:150]
        elif f.kind == "custom" and f.custom_key:
            mapped.custom[f.custom_key] = value
    has_channel_field = any(f.kind in ("email", "phone") for f in fields)
    if has_channel_field and not (mapped.email or mapped.phone) and not mapped.errors:
        target = next(f.key for f in fields if f.kind in ("email", "phone"))
        mapped.errors[target] = gettext("Enter an email or a phone number so we can answer you.")
    return mapped
