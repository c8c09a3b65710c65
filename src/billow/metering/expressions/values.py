"""What an expression computes with: the event it reads, and numbers and strings.

A value is a ``Decimal`` or a ``str``. Event properties that read as decimals (with the same
leniency as lago-expression's decimal parser) are numbers, every other property is a string.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeAlias

from billow.core.money import PRECISION, decimal_str, to_decimal

from .errors import ExpressionEvaluationError

Value: TypeAlias = Decimal | str

_EXPONENT = re.compile(r"[+-]?[0-9]+")
_UNSIGNED_DIGITS = re.compile(r"[0-9][0-9_]*")
_I64_MAX = 2**63 - 1
_I128_MAX = 2**127 - 1


@dataclass(frozen=True, slots=True)
class EventContext:
    """The event an expression is evaluated against (``timestamp`` in integer Unix seconds)."""

    code: str
    timestamp: int
    properties: Mapping[str, object]


def require_number(value: Value) -> Decimal:
    if isinstance(value, str):
        raise ExpressionEvaluationError("Expected a decimal")
    return value


def parse_number(text: str) -> Decimal | None:
    """Read ``text`` as a decimal the way lago-expression does, or ``None`` if it is not one.

    Accepted: an optional sign, digits with ``_`` separators (not leading), an optional ``.`` (a
    trailing ``.`` or a missing integer part are fine) and an optional ``e``/``E`` exponent.
    Surrounding spaces, ``NaN`` and ``Infinity`` are not numbers.
    """
    cut = next((i for i, char in enumerate(text) if char in "eE"), -1)
    exponent = 0
    base = text
    if cut >= 0:
        base, exponent_text = text[:cut], text[cut + 1 :]
        if not _EXPONENT.fullmatch(exponent_text) or len(exponent_text.lstrip("+-").lstrip("0")) > 39:
            return None
        exponent = int(exponent_text)
        if abs(exponent) > _I128_MAX:
            return None
    if not base:
        return None
    dot = base.find(".")
    if dot < 0:
        digits, fraction_digits = base, 0
    elif dot == len(base) - 1:
        digits, fraction_digits = base[:-1], 0
    else:
        trail = base[dot + 1 :]
        digits, fraction_digits = base[:dot] + trail, len(trail) - trail.count("_")
    scale = fraction_digits - exponent
    if abs(scale) > _I64_MAX:
        return None
    negative = digits.startswith("-")
    if negative:
        digits = digits[1:]
        if digits.startswith("+"):
            return None
    elif digits.startswith("+") and not digits.startswith("++"):
        digits = digits[1:]
    if not _UNSIGNED_DIGITS.fullmatch(digits):
        return None
    sign = "-" if negative else ""
    try:
        return Decimal(f"{sign}{digits.replace('_', '')}E{-scale}")
    except (InvalidOperation, ValueError):
        return None


def property_value(raw: object) -> Value:
    """An event property as an expression value (Lago stringifies what is not a number)."""
    if isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, int):
        return Decimal(raw)
    elif isinstance(raw, Decimal) and raw.is_finite():
        return raw
    elif isinstance(raw, float) and math.isfinite(raw):
        return to_decimal(raw)
    elif raw is None:
        text = ""
    elif isinstance(raw, str):
        text = raw
    elif isinstance(raw, Mapping | list | tuple):
        text = json.dumps(raw, ensure_ascii=False, default=str)
    else:
        text = str(raw)
    number = parse_number(text)
    return text if number is None else number


def display_number(value: Decimal) -> str:
    """A number as ``concat`` writes it: scale kept (``1.50``), exponent form only when extreme."""
    if value.is_zero():
        return "0"
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = "".join(map(str, digit_tuple))
    scale = -exponent
    prefix = "-" if sign else ""
    leading_zeros = scale - len(digits) if scale >= len(digits) else 0
    if leading_zeros > 5:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}E{len(digits) - scale - 1:+d}"
    if -scale > 15:
        return f"{prefix}{digits}e{-scale:+d}"
    if scale <= 0:
        return prefix + digits + "0" * -scale
    if scale < len(digits):
        return f"{prefix}{digits[:-scale]}.{digits[-scale:]}"
    return f"{prefix}0.{'0' * (scale - len(digits))}{digits}"


def display(value: Value) -> str:
    return value if isinstance(value, str) else display_number(value)


def format_result(value: Value) -> str:
    """An evaluation result as Lago renders it: numbers ``"21.0"`` / ``"0.125"``, strings as is."""
    if isinstance(value, str):
        return value
    if value.is_zero() or (len(value.as_tuple().digits) <= PRECISION and value.adjusted() < PRECISION):
        return decimal_str(value)
    # Beyond the shared context's precision: render exactly instead of rounding.
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if "." in text else f"{text}.0"
