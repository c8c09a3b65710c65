"""Plan metadata (Lago's metadata item): a flat ``{key: string | null}`` object.

Lago's rules and messages: at most 50 keys, keys up to 100 characters, values null or strings
up to 255 characters (``error_details: {"value": [messages]}``). Writes follow Lago's table:
replace (``POST``), merge (``PATCH``), delete (``DELETE``, or ``null`` when replacing).
"""

from __future__ import annotations

from typing import Any

from billow.core.errors import ValidationFailed
from billow.pricing.plans.models import Plan

MAX_KEYS = 50
MAX_KEY_LENGTH = 100
MAX_VALUE_LENGTH = 255


def check_metadata(value: dict[str, Any]) -> None:
    messages: list[str] = []
    if len(value) > MAX_KEYS:
        messages.append(f"cannot have more than {MAX_KEYS} keys")
    for key, item in value.items():
        if len(key) > MAX_KEY_LENGTH:
            messages.append(f"key '{key}' must be a String up to {MAX_KEY_LENGTH} characters")
        if not (item is None or (isinstance(item, str) and len(item) <= MAX_VALUE_LENGTH)):
            messages.append(
                f"value for key '{key}' must be empty or a String up to {MAX_VALUE_LENGTH} characters"
            )
    if messages:
        raise ValidationFailed({"value": list(dict.fromkeys(messages))})


def metadata_input(raw: Any) -> tuple[bool, dict[str, Any] | None]:
    """``(sent, value)``: Rails permits an object or null; anything else reads as not sent."""
    if raw is None:
        return True, None
    if isinstance(raw, dict):
        return True, raw
    return False, None


def write_metadata(plan: Plan, value: dict[str, Any] | None, *, partial: bool) -> None:
    """Apply Lago's metadata table (checks the resulting object first)."""
    current = plan.item_metadata
    if current is None:
        if value is not None and (value or not partial):
            check_metadata(value)
            plan.item_metadata = dict(value)
        return
    if value is None:
        if not partial:
            plan.item_metadata = None
        return
    if partial:
        if value:
            merged = {**current, **value}
            check_metadata(merged)
            plan.item_metadata = merged
        return
    check_metadata(value)
    plan.item_metadata = dict(value)


def delete_metadata_key(plan: Plan, key: str) -> None:
    current = dict(plan.item_metadata or {})
    current.pop(key, None)
    plan.item_metadata = current
