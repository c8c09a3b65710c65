"""Reading catalog inputs the way Lago's Rails models cast them, with Lago's error codes.

Request fields arrive as ``Any`` (the schemas accept every JSON value); these helpers turn one raw
value into the stored type or the marker ``INVALID``. They are pure: no database, no pydantic.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from billow.core.timefmt import parse_iso_datetime


class Invalid:
    """A value of the wrong type or shape (the caller picks the error code)."""

    _instance: Invalid | None = None

    def __new__(cls) -> Invalid:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = Invalid()

# Rails' ActiveModel::Type::Boolean: these are false, every other non-blank value is true.
_FALSE_VALUES = frozenset({"0", "f", "F", "false", "FALSE", "off", "OFF"})

# Rails' numericality message (Lago leaves it untranslated).
NOT_A_NUMBER = "is not a number"


def text(raw: Any) -> str | None:
    """A scalar field as text: numbers and booleans as Rails renders them, NUL bytes removed.

    Objects and arrays are not permitted scalars in Rails: they read as absent (``None``).
    """
    if raw is None or isinstance(raw, dict | list):
        return None
    if isinstance(raw, str):
        return raw.replace("\x00", "")
    if raw is True:
        return "true"
    if raw is False:
        return "false"
    if isinstance(raw, float):
        return repr(raw)
    return str(raw)


def is_blank(value: str | None) -> bool:
    return value is None or not value.strip()


def boolean(raw: Any) -> bool | None:
    """Rails' boolean cast: ``None``/``""`` → None, ``false``/``"0"``/``"f"``/... → False, else True."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return raw != 0
    if isinstance(raw, str):
        return raw not in _FALSE_VALUES
    return True


def decimal(raw: Any) -> Decimal | Invalid | None:
    """An exact decimal from a JSON number or a numeric string; ``None`` when absent or blank."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        return INVALID
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        value = Decimal(repr(raw))
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            return INVALID
    else:
        return INVALID
    return value if value.is_finite() else INVALID


def integer(raw: Any) -> int | Invalid | None:
    """An integer from a JSON number or a numeric string; fractional values are ``INVALID``."""
    value = decimal(raw)
    if value is None or isinstance(value, Invalid):
        return value
    if value != value.to_integral_value():
        return INVALID
    return int(value)


def datetime_value(raw: Any) -> datetime | Invalid | None:
    """An ISO-8601 date or datetime (naive means UTC); ``None`` when absent or blank."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        return INVALID
    try:
        return parse_iso_datetime(raw)
    except ValueError:
        return INVALID


def string_list(raw: Any) -> list[str] | None:
    """A permitted array of scalars (``tax_codes: []``): unique, in order, nulls dropped.

    Anything but an array is not permitted by Rails and reads as absent (``None``).
    """
    if not isinstance(raw, list):
        return None
    items = [text(item) for item in raw if item is not None]
    return list(dict.fromkeys(item for item in items if item is not None))
