"""Custom field definitions in the database, and checking values against them."""

from __future__ import annotations

import json
from typing import Any

from rapport.contacts.custom_fields import (
    FIELD_TYPES,
    CustomField,
    CustomValueError,
    coerce_value,
)
from rapport.contacts.tables import CustomFieldDefinition
from rapport.db.statements import Statement


async def declare_fields(fields: list[CustomField], declared_by: str) -> None:
    """Create the definitions that do not exist yet; existing ones are left as admins set them."""
    if not fields:
        return
    for field in fields:
        if field.type not in FIELD_TYPES:
            raise ValueError(f"custom field {field.key!r}: unknown type {field.type!r}")
    existing = {
        r["key"]
        for r in await CustomFieldDefinition.select(CustomFieldDefinition.key).where(
            CustomFieldDefinition.key.is_in([f.key for f in fields])
        )
    }
    new = [
        CustomFieldDefinition(
            key=f.key,
            label=f.label,
            type=f.type,
            choices=json.dumps(list(f.choices)),
            declared_by=declared_by,
        )
        for f in fields
        if f.key not in existing
    ]
    if new:
        await CustomFieldDefinition.insert(*new)


_DEFINITIONS = Statement(
    'SELECT "key", label, "type", choices FROM rapport_custom_field ORDER BY position'
)


async def defined_fields() -> dict[str, CustomField]:
    """Every custom field of contacts, key → :class:`CustomField`, in display order."""
    # Read on every card: a fixed statement rather than one built each time.
    rows = await _DEFINITIONS.fetch()
    fields = {}
    for r in rows:
        choices = json.loads(r["choices"]) if isinstance(r["choices"], str) else r["choices"]
        fields[r["key"]] = CustomField(r["key"], r["label"], r["type"], tuple(choices or ()))
    return fields


async def check_values(values: dict[str, Any]) -> dict[str, Any]:
    """Coerce every value to its field's type; unknown keys and bad values raise."""
    if not values:
        return {}
    fields = await defined_fields()
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        field = fields.get(key)
        if field is None:
            raise CustomValueError(key, "no such custom field")
        cleaned[key] = coerce_value(field, value)
    return cleaned
