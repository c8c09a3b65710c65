"""Lago's value rules shared by wallets, top-ups and recurring rules (pure: no database).

* Credit amounts: a decimal ≥ 0 (Lago's ``DecimalAmountService``). Lago only accepts JSON
  strings; Billow also accepts JSON numbers (read exactly, never through a float).
* Transaction metadata: an array of ``{key, value}`` pairs (both present, key ≤ 20 and value
  ≤ 100 characters, no nesting, at most 5 — 15 for a top-up — pairs); one code per failure.
* Expiration dates: blank, or a parseable date in the future.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from billow.core.money import ZERO
from billow.pricing import casting
from billow.pricing.casting import Invalid
from billow.wallets.credits import MAX_CREDITS

MAX_KEY_LENGTH = 20
MAX_VALUE_LENGTH = 100


def credits_value(raw: Any) -> Decimal | Invalid | None:
    """A credit amount, ``INVALID`` when not a decimal in ``[0, 10^25)``; ``None`` when absent."""
    if raw is None:
        return None
    value = casting.decimal(raw)
    if value is None:
        return casting.INVALID
    if isinstance(value, Invalid) or value < ZERO or value > MAX_CREDITS:
        return casting.INVALID
    return value


def metadata_error(raw: Any, *, max_keys: int = 5) -> str | None:
    """Lago's ``MetadataValidator``: the code of the first failure, or ``None``."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        return "invalid_type"
    if not raw:
        return None
    if len(raw) > max_keys:
        return "too_many_keys"
    error: str | None = None
    for item in raw:
        if not isinstance(item, dict) or sorted(item) != ["key", "value"]:
            return "invalid_key_value_pair"
        key, value = item.get("key"), item.get("value")
        if key in (None, "") or value in (None, "", [], {}):
            return "invalid_key_value_pair"
        if isinstance(key, str) and len(key) > MAX_KEY_LENGTH:
            error = "key_too_long"
        if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            error = "value_too_long"
        if isinstance(value, dict | list):
            error = "nested_structure_not_allowed"
    return error


def metadata_pairs(raw: Any) -> list[dict[str, Any]]:
    """A validated metadata array as stored (``[]`` when absent)."""
    if not isinstance(raw, list):
        return []
    return [{"key": str(item["key"]), "value": item["value"]} for item in raw if isinstance(item, dict)]


def expiration_error(raw: Any, now: datetime) -> bool:
    """True when ``raw`` is not blank and not a future date."""
    value = casting.datetime_value(raw)
    if value is None:
        return False
    return isinstance(value, Invalid) or value <= now


def datetime_or_none(raw: Any) -> datetime | None:
    value = casting.datetime_value(raw)
    return value if isinstance(value, datetime) else None


def boolean(raw: Any, default: bool = False) -> bool:
    value = casting.boolean(raw)
    return default if value is None else value
