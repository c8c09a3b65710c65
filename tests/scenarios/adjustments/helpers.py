"""Adjustment scenarios: metered events with a value, and invoices by type."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any

from tests.billing.coupon_helpers import metric
from tests.billing.helpers import invoices, plan
from tests.pricing.helpers import ok

_tx = count(1)


def units_plan(api: Any, code: str = "pro", *, unit_price: str = "0.0002", **fields: Any) -> dict[str, Any]:
    """A monthly arrears plan charging ``unit_price`` per unit of the ``units`` sum metric."""
    bm = metric(api, "units", aggregation_type="sum_agg", field_name="value")
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": unit_price},
    }
    return plan(api, code, charges=[charge], **fields)


def usage(api: Any, when: datetime, value: int, sub: str = "sub_1") -> None:
    event = {
        "transaction_id": f"adj_{next(_tx)}",
        "external_subscription_id": sub,
        "code": "units",
        "timestamp": int(when.timestamp()),
        "properties": {"value": value},
    }
    ok(api.post("/events", {"event": event}))


def of_type(api: Any, invoice_type: str) -> list[dict[str, Any]]:
    return [i for i in invoices(api) if i["invoice_type"] == invoice_type]
