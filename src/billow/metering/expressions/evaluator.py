"""One-call evaluation of expression text against an event."""

from __future__ import annotations

from .parser import parse_expression
from .values import EventContext, Value


def evaluate_expression(text: str, ctx: EventContext) -> Value:
    """Parse and evaluate; raises ``ExpressionSyntaxError`` or ``ExpressionEvaluationError``."""
    return parse_expression(text).evaluate(ctx)
