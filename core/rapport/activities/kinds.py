"""Activity kinds: the core's five and any a plugin registers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ActivityKind:
    name: str
    label: str
    icon: str = ""
    # payload key → type name ("str", "int", "float", "bool", "dict", "list"); checked on log.
    payload_fields: dict[str, str] = field(default_factory=dict)
    is_task: bool = False


CORE_KINDS = [
    ActivityKind("note", "Note", icon="note"),
    ActivityKind(
        "call",
        "Call",
        icon="phone",
        payload_fields={"direction": "str", "duration": "int", "recording_url": "str"},
    ),
    ActivityKind("email", "Email", icon="mail", payload_fields={"subject": "str"}),
    ActivityKind("meeting", "Meeting", icon="calendar", payload_fields={"location": "str"}),
    ActivityKind("task", "Task", icon="check", is_task=True),
    ActivityKind("merge", "Merged contact", icon="merge"),
    ActivityKind(
        "assignment",
        "Owner assigned",
        icon="user",
        payload_fields={"user_id": "int", "rule_id": "int", "rule_name": "str", "reason": "str"},
    ),
]
