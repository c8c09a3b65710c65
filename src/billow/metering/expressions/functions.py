"""The built-in functions: how their names may be written, their arity and what they compute."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, DecimalException
from enum import StrEnum
from functools import reduce

from billow.core import money

from .errors import ExpressionEvaluationError
from .values import Value, display, require_number

Argument = Callable[[], Value]
"""An argument not yet evaluated: functions evaluate their arguments in order, one at a time."""

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


class Function(StrEnum):
    ROUND = "round"
    CEIL = "ceil"
    FLOOR = "floor"
    LEAST = "least"
    GREATEST = "greatest"
    CONCAT = "concat"

    @classmethod
    def lookup(cls, name: str) -> Function | None:
        """The function called ``name`` (lower case, UPPER CASE or Capitalized), if any."""
        lowered = name.lower()
        if name not in (lowered, lowered.upper(), lowered.capitalize()):
            return None
        try:
            return cls(lowered)
        except ValueError:
            return None


_ROUNDING: dict[Function, Callable[[Decimal, int], Decimal]] = {
    Function.ROUND: money.round_half_up,
    Function.CEIL: money.ceil,
    Function.FLOOR: money.floor,
}


def arity_error(function: Function, count: int) -> str | None:
    """Why ``count`` arguments do not fit ``function``, or ``None`` when they do."""
    if function in _ROUNDING:
        if count in (1, 2):
            return None
        expected = "1 or 2"
    else:
        if count >= 1:
            return None
        expected = "at least 1"
    return f"Wrong number of arguments to function {function}: expected {expected}, got {count}"


def call(function: Function, args: Sequence[Argument]) -> Value:
    rounding = _ROUNDING.get(function)
    if rounding is not None:
        number = require_number(args[0]())
        places = _places(args[1]()) if len(args) > 1 else 0
        return _round(number, places, rounding)
    if function is Function.CONCAT:
        return "".join(display(arg()) for arg in args)
    numbers = [require_number(arg()) for arg in args]
    if function is Function.LEAST:
        return reduce(lambda kept, new: new if new < kept else kept, numbers)
    # Ties keep the last of the equal maxima, as lago-expression does (visible through concat).
    return reduce(lambda kept, new: new if new >= kept else kept, numbers)


def _places(value: Value) -> int:
    """The precision argument: truncated toward zero, and it must fit a 64-bit integer."""
    number = require_number(value)
    if not number.is_zero() and number.adjusted() >= 19:
        raise ExpressionEvaluationError("Expected a decimal")
    places = int(number)
    if not _I64_MIN <= places <= _I64_MAX:
        raise ExpressionEvaluationError("Expected a decimal")
    return places


def _round(number: Decimal, places: int, rounding: Callable[[Decimal, int], Decimal]) -> Decimal:
    try:
        return rounding(number, places)
    except DecimalException:
        exponent = number.as_tuple().exponent
        if places >= 0 and isinstance(exponent, int) and exponent >= -places:
            return number  # nothing to round; only the zero padding did not fit
        raise ExpressionEvaluationError(f"Rounding precision {places} is out of range") from None
