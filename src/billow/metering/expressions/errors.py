"""The two ways an expression can fail: it does not parse, or it cannot be computed for an event."""

from __future__ import annotations


class ExpressionSyntaxError(ValueError):
    """The text is not a valid expression (Lago answers ``invalid_expression``)."""


class ExpressionEvaluationError(ValueError):
    """The expression is valid but cannot be computed for this event (Lago answers ``invalid_event``)."""
