"""Coupons, metrics and events through the public API (billing tests)."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any

from tests.pricing.helpers import ok

_tx = count(1)


def coupon(api: Any, code: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": fields.pop("name", code.upper()),
        "code": code,
        "coupon_type": "fixed_amount",
        "frequency": "once",
        "expiration": "no_expiration",
        "amount_currency": "EUR",
        **fields,
    }
    return ok(api.post("/coupons", {"coupon": body}))["coupon"]


def apply(api: Any, code: str, customer_id: str = "cus_1", **overrides: Any) -> dict[str, Any]:
    body = {"external_customer_id": customer_id, "coupon_code": code, **overrides}
    return ok(api.post("/applied_coupons", {"applied_coupon": body}))["applied_coupon"]


def applied_coupons(api: Any, customer_id: str = "cus_1") -> dict[str, dict[str, Any]]:
    """The customer's applied coupons (with their credits) by coupon code."""
    listed = ok(api.get(f"/customers/{customer_id}/applied_coupons", per_page=100))["applied_coupons"]
    return {a["coupon_code"]: a for a in listed}


def metric(api: Any, code: str, aggregation_type: str = "count_agg", **fields: Any) -> dict[str, Any]:
    body = {"name": code.title(), "code": code, "aggregation_type": aggregation_type, **fields}
    return ok(api.post("/billable_metrics", {"billable_metric": body}))["billable_metric"]


def events(api: Any, code: str, when: datetime, n: int, sub: str = "sub_1") -> None:
    batch = [
        {
            "transaction_id": f"tx_{next(_tx)}",
            "external_subscription_id": sub,
            "code": code,
            "timestamp": int(when.timestamp()),
            "properties": {},
        }
        for _ in range(n)
    ]
    for start in range(0, len(batch), 100):
        ok(api.post("/events/batch", {"events": batch[start : start + 100]}))
