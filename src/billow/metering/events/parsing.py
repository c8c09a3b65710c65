"""Lean, hand-written reading of event inputs (the ingestion hot path: no per-event pydantic model).

Rules follow Lago's ``Events::CreateService`` as observed: ``timestamp`` is Unix seconds given as
an integer, a float or a numeric string, parsed as an exact decimal (sub-microsecond digits
truncated); absent or ``null`` (or ``false``) means "when the request arrived".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = Decimal(1_000_000)
_MAX_SECONDS = Decimal(253_402_300_800)  # datetime's range (year 9999)
_NUMERIC_VALUE = re.compile(r"-?\d+(\.\d+)?")
_LENIENT_DECIMAL = re.compile(r"\s*([-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)")
_AMOUNT_QUANTUM = Decimal(1).scaleb(-15)


class InvalidTimestamp(ValueError):
    pass


def parse_timestamp(raw: Any, default: datetime) -> datetime:
    """Unix seconds (int, float, numeric string) → aware UTC datetime, microseconds truncated."""
    if raw is None or raw is False:
        return default
    if type(raw) is int:
        try:
            return EPOCH + timedelta(seconds=raw)
        except OverflowError as exc:
            raise InvalidTimestamp(raw) from exc
    if isinstance(raw, float):
        text = repr(raw)
    elif isinstance(raw, str):
        text = raw
    elif isinstance(raw, Decimal):
        text = str(raw)
    else:
        raise InvalidTimestamp(raw)
    try:
        seconds = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidTimestamp(raw) from exc
    if not seconds.is_finite() or abs(seconds) > _MAX_SECONDS:
        raise InvalidTimestamp(raw)
    whole = int(seconds)
    micros = int((seconds - whole) * _MICRO)
    try:
        return EPOCH + timedelta(seconds=whole, microseconds=micros)
    except OverflowError as exc:
        raise InvalidTimestamp(raw) from exc


def scalar_text(raw: Any) -> str | None:
    """A scalar request field as text (Rails permits numbers and booleans); ``None`` otherwise."""
    if isinstance(raw, str):
        return raw
    if raw is None or isinstance(raw, dict | list):
        return None
    if raw is True:
        return "true"
    if raw is False:
        return "false"
    if isinstance(raw, float):
        return repr(raw)
    return str(raw)


def is_blank(value: str | None) -> bool:
    return value is None or not value.strip()


def parse_amount(raw: Any) -> Decimal | None:
    """``precise_total_amount_cents``: lenient like Rails' decimal cast; unparseable → 0."""
    if raw is None or raw is False or raw == "":
        return None
    if isinstance(raw, bool):
        return Decimal(1)
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        value = Decimal(repr(raw))
    elif isinstance(raw, str):
        match = _LENIENT_DECIMAL.match(raw)
        value = Decimal(match.group(1).replace("_", "")) if match else Decimal(0)
    else:
        return Decimal(0)
    if not value.is_finite():
        return Decimal(0)
    if value.as_tuple().exponent < -15:  # type: ignore[operator]
        value = value.quantize(_AMOUNT_QUANTUM, rounding=ROUND_HALF_UP)
    return value


def property_text(raw: Any) -> str | None:
    """The text form of a JSON property value (what ``properties->>'key'`` gives)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    if raw is True:
        return "true"
    if raw is False:
        return "false"
    if isinstance(raw, int):
        return str(raw)
    # floats as their JSON token (orjson writes the stored properties, so this is exactly what
    # SQLite's ``->`` returns: ``1e-7``, where ``repr`` would give ``1e-07``); other values too
    return orjson.dumps(raw).decode()


def numeric_value(text: str | None) -> Decimal | None:
    """The metered value when the text is a plain decimal (``^-?\\d+(\\.\\d+)?$``), else ``None``."""
    if text is None or not _NUMERIC_VALUE.fullmatch(text):
        return None
    return Decimal(text)


def ruby_to_i(raw: Any) -> int | None:
    """Ruby's ``to_i`` on a request value (for evaluate_expression's timestamp); ``None`` if absent."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return 0
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw)
    if isinstance(raw, str):
        match = re.match(r"\s*([-+]?\d[\d_]*)", raw)
        return int(match.group(1).replace("_", "")) if match else 0
    return 0
