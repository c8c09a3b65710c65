"""Billable metric inputs. Fields are ``Any``: the service checks them with Lago's error codes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class BillableMetricInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Any = None
    code: Any = None
    description: Any = None
    aggregation_type: Any = None
    weighted_interval: Any = None
    recurring: Any = None
    field_name: Any = None
    expression: Any = None
    rounding_function: Any = None
    rounding_precision: Any = None
    filters: Any = None


class EvaluateExpressionInput(BaseModel):
    """``POST /billable_metrics/evaluate_expression``: both keys at the top level of the body."""

    model_config = ConfigDict(extra="ignore")

    expression: Any = None
    event: Any = None
