"""Exact decimal arithmetic for SQLite, which has no exact numeric type.

SQLite's ``SUM``/``MAX`` over the TEXT decimals of an ``ExactDecimal`` column coerce to float,
which Billow never allows. Two mechanisms keep usage aggregation exact:

* ``events.value_scaled``: the metered value × 10^``VALUE_SCALE`` as a 64-bit integer, written at
  ingestion when it is exactly representable (|value| < 2^62 / 10^6 ≈ 4.6 × 10^12 with at most 6
  decimals), else NULL. ``SUM``/``MAX`` over it are exact integer operations (a ``SUM``
  overflow raises an error, never a silent float).
* deterministic functions registered on every connection (``register``) for the rest: rows
  without a scaled value (30-digit numbers, more than 6 decimals, JSON fallbacks), the weighted
  sum, and the pay-in-advance running totals. They parse TEXT decimals with Python's
  ``Decimal`` and return TEXT, so nothing goes through a float.
"""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, cast

from billow.core.money import DECIMAL_CONTEXT

VALUE_SCALE = 6
_FACTOR = 10**VALUE_SCALE
_SCALED_LIMIT = 2**62
_NUMERIC = re.compile(r"-?\d+(\.\d+)?")


def scaled_value(value: Decimal | None) -> int | None:
    """``value × 10^6`` as an int when exact and within ±2^62, else ``None``."""
    if value is None or not value.is_finite():
        return None
    with localcontext(DECIMAL_CONTEXT):
        scaled = value.scaleb(VALUE_SCALE)
        if scaled != scaled.to_integral_value():
            return None
        number = int(scaled)
    return number if -_SCALED_LIMIT < number < _SCALED_LIMIT else None


def numeric_text(text: Any) -> str | None:
    """The text when it is a plain decimal (``^-?\\d+(\\.\\d+)?$``, metering.md §2.2), else NULL."""
    if isinstance(text, str) and _NUMERIC.fullmatch(text):
        return text
    return None


def _decimal(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class _DecimalSum:
    """``billow_dsum(text)``: exact sum (TEXT), NULL when no non-NULL input. Also a window
    function (running sums of the pay-in-advance rule)."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, raw: Any) -> None:
        value = _decimal(raw)
        if value is not None:
            with localcontext(DECIMAL_CONTEXT):
                self.total = value if self.total is None else self.total + value

    def inverse(self, raw: Any) -> None:
        value = _decimal(raw)
        if value is not None and self.total is not None:
            with localcontext(DECIMAL_CONTEXT):
                self.total -= value

    def value(self) -> str | None:
        return _text(self.total)

    def finalize(self) -> str | None:
        return _text(self.total)


class _DecimalMax:
    """``billow_dmax(text)``: exact maximum (TEXT). As a window function it supports frames
    that start at ``UNBOUNDED PRECEDING`` only."""

    def __init__(self) -> None:
        self.best: Decimal | None = None

    def step(self, raw: Any) -> None:
        value = _decimal(raw)
        if value is not None and (self.best is None or value > self.best):
            self.best = value

    def inverse(self, raw: Any) -> None:
        raise sqlite3.NotSupportedError("billow_dmax frames must start at UNBOUNDED PRECEDING")

    def value(self) -> str | None:
        return _text(self.best)

    def finalize(self) -> str | None:
        return _text(self.best)


class _WeightedSum:
    """``billow_wsum(scaled, text, weight)``: exact Σ value × weight (TEXT); the value is
    ``scaled / 10^6`` when ``scaled`` is not NULL, else the decimal ``text``."""

    def __init__(self) -> None:
        self.scaled = 0
        self.exact = Decimal(0)
        self.seen = False

    def step(self, scaled: Any, raw: Any, weight: Any) -> None:
        if weight is None:
            return
        if isinstance(scaled, int):
            self.scaled += scaled * int(weight)
            self.seen = True
            return
        value = _decimal(raw)
        if value is not None:
            with localcontext(DECIMAL_CONTEXT):
                self.exact += value * int(weight)
            self.seen = True

    def finalize(self) -> str | None:
        if not self.seen:
            return None
        with localcontext(DECIMAL_CONTEXT):
            return _text(Decimal(self.scaled).scaleb(-VALUE_SCALE) + self.exact)


def _decimal_sub(a: Any, b: Any) -> str | None:
    """``billow_dsub(a, b)``: exact ``a − b`` of TEXT decimals (NULL if either is NULL)."""
    left, right = _decimal(a), _decimal(b)
    if left is None or right is None:
        return None
    with localcontext(DECIMAL_CONTEXT):
        return _text(left - right)


def register(conn: sqlite3.Connection) -> None:
    """Register Billow's functions on a new SQLite connection (engine connect hook)."""
    conn.create_function("billow_numeric", 1, numeric_text, deterministic=True)
    conn.create_function("billow_dsub", 2, _decimal_sub, deterministic=True)
    conn.create_window_function("billow_dsum", 1, _DecimalSum)
    conn.create_window_function("billow_dmax", 1, _DecimalMax)
    conn.create_aggregate("billow_wsum", 3, cast(Any, _WeightedSum))  # three-argument step
