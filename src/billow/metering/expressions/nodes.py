"""The syntax tree: immutable nodes that evaluate against an event and print back as source.

Chains of ``+ -`` (or of ``* /``) are one flat node evaluated left to right, so a long sum is a
shallow tree and nothing recursive (evaluation, ``repr``, hashing) goes deeper than the nesting
of parentheses and calls, which the parser caps.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal, DecimalException, Overflow, localcontext
from enum import StrEnum
from functools import partial

from billow.core.money import DECIMAL_CONTEXT

from . import functions
from .errors import ExpressionEvaluationError
from .functions import Function
from .values import EventContext, Value, property_value, require_number

PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
MAX_RESULT_EXPONENT = 1000
"""Numeric results must stay within 10^±1000 (a guard against absurd inputs, not a Lago rule)."""


class Expression(ABC):
    """A parsed expression (any node of the tree)."""

    __slots__ = ()

    def evaluate(self, ctx: EventContext) -> Value:
        """The value for this event: a ``Decimal`` or a ``str``."""
        with localcontext(DECIMAL_CONTEXT):
            try:
                result = self._eval(ctx)
            except Overflow:
                raise ExpressionEvaluationError("Number out of range") from None
            except DecimalException:
                raise ExpressionEvaluationError("Invalid arithmetic operation") from None
        if isinstance(result, str):
            return result
        if result.is_zero():
            return result.copy_abs()
        if abs(result.adjusted()) > MAX_RESULT_EXPONENT:
            raise ExpressionEvaluationError("Number out of range")
        return result

    def variables(self) -> frozenset[str]:
        """Names of the event properties the expression reads."""
        names: set[str] = set()
        pending: list[Expression] = [self]
        while pending:
            node = pending.pop()
            if isinstance(node, Property):
                names.add(node.name)
            pending.extend(node.children())
        return frozenset(names)

    def children(self) -> tuple[Expression, ...]:
        return ()

    @abstractmethod
    def to_source(self) -> str:
        """Canonical source text; parsing it gives back an equal tree."""

    def __str__(self) -> str:
        return self.to_source()

    @abstractmethod
    def _eval(self, ctx: EventContext) -> Value: ...


class Operator(StrEnum):
    ADD = "+"
    SUBTRACT = "-"
    MULTIPLY = "*"
    DIVIDE = "/"

    @property
    def precedence(self) -> int:
        return 1 if self in (Operator.ADD, Operator.SUBTRACT) else 2

    def apply(self, left: Decimal, right: Decimal) -> Decimal:
        if self is Operator.ADD:
            return left + right
        if self is Operator.SUBTRACT:
            return left - right
        if self is Operator.MULTIPLY:
            return left * right
        if right.is_zero():
            raise ExpressionEvaluationError("Division by zero")
        return left / right


@dataclass(frozen=True, slots=True)
class NumberLiteral(Expression):
    value: Decimal

    def __post_init__(self) -> None:
        if not self.value.is_finite() or self.value.is_signed():
            raise ValueError("a number literal is a finite, non-negative decimal")

    def to_source(self) -> str:
        return f"{self.value:f}"

    def _eval(self, ctx: EventContext) -> Value:
        return self.value


@dataclass(frozen=True, slots=True)
class StringLiteral(Expression):
    value: str

    def __post_init__(self) -> None:
        if "'" in self.value:
            raise ValueError("a string literal cannot contain a single quote")

    def to_source(self) -> str:
        return f"'{self.value}'"

    def _eval(self, ctx: EventContext) -> Value:
        return self.value


@dataclass(frozen=True, slots=True)
class EventCode(Expression):
    """``event.code``: always a string, even when it looks like a number."""

    def to_source(self) -> str:
        return "event.code"

    def _eval(self, ctx: EventContext) -> Value:
        return ctx.code


@dataclass(frozen=True, slots=True)
class EventTimestamp(Expression):
    """``event.timestamp``: integer Unix seconds."""

    def to_source(self) -> str:
        return "event.timestamp"

    def _eval(self, ctx: EventContext) -> Value:
        return Decimal(ctx.timestamp)


@dataclass(frozen=True, slots=True)
class Property(Expression):
    """``event.properties.<name>``."""

    name: str

    def __post_init__(self) -> None:
        if not PROPERTY_NAME.fullmatch(self.name):
            raise ValueError(f"invalid property name: {self.name!r}")

    def to_source(self) -> str:
        return f"event.properties.{self.name}"

    def _eval(self, ctx: EventContext) -> Value:
        if self.name not in ctx.properties:
            raise ExpressionEvaluationError(f"Variable: {self.name} not found")
        return property_value(ctx.properties[self.name])


@dataclass(frozen=True, slots=True)
class Negate(Expression):
    operand: Expression

    def children(self) -> tuple[Expression, ...]:
        return (self.operand,)

    def to_source(self) -> str:
        source = self.operand.to_source()
        if isinstance(self.operand, Arithmetic | Negate):
            return f"-({source})"
        return f"-{source}"

    def _eval(self, ctx: EventContext) -> Value:
        return require_number(self.operand._eval(ctx)).copy_negate()


@dataclass(frozen=True, slots=True)
class Arithmetic(Expression):
    """``first op1 x1 op2 x2 ...`` evaluated left to right; all operators share one precedence."""

    first: Expression
    rest: tuple[tuple[Operator, Expression], ...]

    def __post_init__(self) -> None:
        if not self.rest:
            raise ValueError("an arithmetic chain needs at least one operator")
        if len({operator.precedence for operator, _ in self.rest}) != 1:
            raise ValueError("an arithmetic chain mixes precedences")

    @property
    def precedence(self) -> int:
        return self.rest[0][0].precedence

    def children(self) -> tuple[Expression, ...]:
        return (self.first, *(operand for _, operand in self.rest))

    def to_source(self) -> str:
        parts = [self._operand_source(self.first)]
        for operator, operand in self.rest:
            parts.append(f"{operator} {self._operand_source(operand)}")
        return " ".join(parts)

    def _operand_source(self, operand: Expression) -> str:
        source = operand.to_source()
        if isinstance(operand, Arithmetic) and operand.precedence <= self.precedence:
            return f"({source})"
        return source

    def _eval(self, ctx: EventContext) -> Value:
        result = require_number(self.first._eval(ctx))
        for operator, operand in self.rest:
            result = operator.apply(result, require_number(operand._eval(ctx)))
        return result


@dataclass(frozen=True, slots=True)
class FunctionCall(Expression):
    function: Function
    args: tuple[Expression, ...]

    def __post_init__(self) -> None:
        error = functions.arity_error(self.function, len(self.args))
        if error is not None:
            raise ValueError(error)

    def children(self) -> tuple[Expression, ...]:
        return self.args

    def to_source(self) -> str:
        return f"{self.function}({', '.join(arg.to_source() for arg in self.args)})"

    def _eval(self, ctx: EventContext) -> Value:
        return functions.call(self.function, [partial(arg._eval, ctx) for arg in self.args])
