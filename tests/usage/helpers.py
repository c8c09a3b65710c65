"""Usage API helpers: metrics and events through the public API, and the usage routes."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any

from tests.pricing.helpers import ok

_tx = count(1)


def metric(api: Any, code: str, aggregation_type: str = "count_agg", **fields: Any) -> dict[str, Any]:
    body = {
        "name": fields.pop("name", code.title()),
        "code": code,
        "aggregation_type": aggregation_type,
        **fields,
    }
    return ok(api.post("/billable_metrics", {"billable_metric": body}))["billable_metric"]


def event(api: Any, code: str, when: datetime, sub: str = "sub_1", **properties: Any) -> None:
    body = {
        "transaction_id": f"tx_{next(_tx)}",
        "external_subscription_id": sub,
        "code": code,
        "timestamp": when.timestamp(),
        "properties": properties,
    }
    ok(api.post("/events", {"event": body}))


def charge(metric_json: dict[str, Any], model: str = "standard", **fields: Any) -> dict[str, Any]:
    return {"billable_metric_id": metric_json["lago_id"], "charge_model": model, **fields}


def current_usage(api: Any, customer: str = "cus_1", sub: str = "sub_1", **params: Any) -> dict[str, Any]:
    found = ok(api.get(f"/customers/{customer}/current_usage", external_subscription_id=sub, **params))
    usage: dict[str, Any] = found["customer_usage"]
    return usage


def projected_usage(api: Any, customer: str = "cus_1", sub: str = "sub_1", **params: Any) -> dict[str, Any]:
    found = ok(api.get(f"/customers/{customer}/projected_usage", external_subscription_id=sub, **params))
    usage: dict[str, Any] = found["customer_projected_usage"]
    return usage


def past_usage(api: Any, customer: str = "cus_1", sub: str = "sub_1", **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        api.get(f"/customers/{customer}/past_usage", external_subscription_id=sub, **params)
    )
    return body


def by_code(usage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["billable_metric"]["code"]: c for c in usage["charges_usage"]}
