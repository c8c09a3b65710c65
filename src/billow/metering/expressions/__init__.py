"""Lago's billable-metric expression language: parse once, evaluate per event (pure, no I/O).

>>> ctx = EventContext(code="api", timestamp=0, properties={"value": "10.4", "units": "2"})
>>> format_result(evaluate_expression("round(event.properties.value * event.properties.units)", ctx))
'21.0'
"""

from .errors import ExpressionEvaluationError, ExpressionSyntaxError
from .evaluator import evaluate_expression
from .nodes import Expression
from .parser import MAX_EXPRESSION_LENGTH, MAX_NESTING, parse_expression
from .values import EventContext, Value, format_result

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_NESTING",
    "EventContext",
    "Expression",
    "ExpressionEvaluationError",
    "ExpressionSyntaxError",
    "Value",
    "evaluate_expression",
    "format_result",
    "parse_expression",
]
