"""Reading nested plan inputs (charges, filters, fixed charges, thresholds) the way Rails'
strong parameters permit them: a value of the wrong shape reads as absent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billow.pricing import casting
from billow.pricing.casting import INVALID, NOT_A_NUMBER, Invalid

Raw = Mapping[str, Any]


def as_dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def dict_list(value: Any) -> list[dict[str, Any]] | None:
    """A permitted array of objects (other items dropped), or ``None`` when not an array."""
    if not isinstance(value, list):
        return None
    return [item for item in value if isinstance(item, dict)]


def present_text(raw: Raw, key: str) -> str | None:
    """A text field, ``None`` when absent or blank (Rails' ``presence``)."""
    value = casting.text(raw.get(key))
    return None if casting.is_blank(value) else value


def cents(raw: Any) -> int | Invalid | None:
    return casting.integer(raw)


def cents_errors(value: int | Invalid | None, *, minimum: int, allow_nil: bool = False) -> list[str]:
    """Rails' numericality: not a number (nil too, unless allowed), then the bound."""
    if value is None:
        return [] if allow_nil else [NOT_A_NUMBER]
    if isinstance(value, Invalid):
        return [NOT_A_NUMBER]
    return [] if value >= minimum else ["value_is_out_of_range"]


def enum_text(raw: Any, allowed: tuple[str, ...]) -> str | Invalid | None:
    value = casting.text(raw)
    if value is None:
        return None
    return value if value in allowed else INVALID
