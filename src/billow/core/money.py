"""Exact decimal helpers: Lago's rounding modes and its JSON rendering of decimals."""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)

from billow.core.currencies import currency_exponent

# Precision high enough for 30-digit usage values multiplied by prices.
PRECISION = 60
DECIMAL_CONTEXT = Context(prec=PRECISION, rounding=ROUND_HALF_UP)
ZERO = Decimal(0)


def to_decimal(value: object) -> Decimal:
    """Parse an int, str or Decimal into an exact Decimal (no float ever accepted)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a decimal: {value!r}") from exc
        if not result.is_finite():
            raise ValueError(f"not a finite decimal: {value!r}")
        return result
    if isinstance(value, float):
        # JSON numbers parsed as floats: go through repr to keep what the client wrote.
        return Decimal(repr(value))
    raise TypeError(f"cannot convert {type(value).__name__} to Decimal")


def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def _round(value: Decimal, places: int, mode: str) -> Decimal:
    with localcontext(DECIMAL_CONTEXT):
        if value.is_zero():
            return Decimal(0).quantize(_quantum(places)) if places >= 0 else Decimal(0)
        if places >= 0:
            return value.quantize(_quantum(places), rounding=mode)
        factor = Decimal(10) ** (-places)
        return (value / factor).quantize(Decimal(1), rounding=mode) * factor


def round_half_up(value: Decimal, places: int = 0) -> Decimal:
    """Ruby's ``BigDecimal#round(n)``: ties away from zero; ``places`` may be negative."""
    return _round(value, places, ROUND_HALF_UP)


def ceil(value: Decimal, places: int = 0) -> Decimal:
    """Ruby's ``ceil(n)``: toward +infinity."""
    return _round(value, places, ROUND_CEILING)


def floor(value: Decimal, places: int = 0) -> Decimal:
    """Ruby's ``floor(n)``: toward -infinity."""
    return _round(value, places, ROUND_FLOOR)


def to_cents(amount: Decimal, currency: str) -> int:
    """Money in major units to integer minor units, half-up at the currency's exponent."""
    exponent = currency_exponent(currency)
    return int(round_half_up(amount, exponent).scaleb(exponent))


def precise_cents(amount: Decimal, currency: str) -> Decimal:
    """Unrounded amount in minor units."""
    with localcontext(DECIMAL_CONTEXT):
        return amount.scaleb(currency_exponent(currency))


def cents_to_amount(cents: int | Decimal, currency: str) -> Decimal:
    with localcontext(DECIMAL_CONTEXT):
        return Decimal(cents).scaleb(-currency_exponent(currency))


def decimal_str(value: Decimal | int) -> str:
    """Render a decimal the way Lago's JSON does.

    Integral values get one decimal (``"3.0"``); others keep every significant digit and
    never use exponent notation (``"2177.4193548387096774"``).
    """
    d = Decimal(value)
    if d.is_zero():
        return "0.0"
    with localcontext(DECIMAL_CONTEXT):
        if d == d.to_integral_value():
            return f"{d.quantize(Decimal(1)):f}.0"
        return f"{d.normalize():f}"


def decimal_str_or_none(value: Decimal | int | None) -> str | None:
    return None if value is None else decimal_str(value)
