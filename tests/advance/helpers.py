"""Pay-in-advance test helpers: metrics, plans with pay-in-advance charges and events through the
public API; the fees and invoices they produced."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any

from sqlalchemy import text

from billow.runtime import Runtime
from tests.billing.helpers import customer, drain, plan, start_clock, subscribe
from tests.pricing.helpers import ok

_tx = count(1)

STORED_TABLES = (
    "events",
    "fees",
    "fee_applied_taxes",
    "invoices",
    "invoice_subscriptions",
    "jobs",
    "webhooks",
)


def metric(api: Any, code: str, aggregation_type: str = "sum_agg", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": code.title(),
        "code": code,
        "aggregation_type": aggregation_type,
        **fields,
    }
    if (
        aggregation_type in ("sum_agg", "unique_count_agg", "max_agg", "latest_agg")
        and "field_name" not in body
    ):
        body["field_name"] = "value"
    return ok(api.post("/billable_metrics", {"billable_metric": body}))["billable_metric"]


def advance_charge(bm: dict[str, Any], model: str = "standard", **fields: Any) -> dict[str, Any]:
    properties = fields.pop("properties", {"amount": "1"})
    return {
        "billable_metric_id": bm["lago_id"],
        "charge_model": model,
        "pay_in_advance": True,
        "invoiceable": fields.pop("invoiceable", True),
        "properties": properties,
        **fields,
    }


def setup(
    api: Any,
    runtime: Runtime,
    start: datetime,
    charges: list[dict[str, Any]],
    *,
    subscription_at: str | None = None,
    customer_fields: dict[str, Any] | None = None,
    **plan_fields: Any,
) -> None:
    """Clock at ``start``, one customer, a plan (no subscription fee) with ``charges``, one
    subscription ``sub_1`` started at ``subscription_at`` (default: now)."""
    start_clock(runtime, start)
    customer(api, **(customer_fields or {}))
    plan(api, amount_cents=0, charges=charges, **plan_fields)
    extra = {"subscription_at": subscription_at} if subscription_at else {}
    subscribe(api, **extra)
    drain(api, runtime)


def send(api: Any, code: str, when: datetime | None = None, sub: str = "sub_1", **properties: Any) -> str:
    """``POST /events``; returns the transaction id."""
    transaction_id = f"tx_{next(_tx)}"
    body: dict[str, Any] = {
        "transaction_id": transaction_id,
        "external_subscription_id": sub,
        "code": code,
        "properties": properties,
    }
    if when is not None:
        body["timestamp"] = when.timestamp()
    ok(api.post("/events", {"event": body}))
    return transaction_id


def advance_fees(api: Any) -> list[dict[str, Any]]:
    """Every pay-in-advance charge fee, in the order of their events' ingestion."""
    fees = ok(api.get("/fees", per_page=1000))["fees"]
    found = [f for f in fees if f["item"]["type"] == "charge" and f.get("event_transaction_id")]
    return sorted(found, key=lambda f: _order(f["event_transaction_id"]))


def _order(transaction_id: str) -> tuple[int, str]:
    number = transaction_id.removeprefix("tx_")
    return (int(number), "") if number.isdigit() else (1 << 62, transaction_id)


def amounts(api: Any) -> list[int]:
    return [f["amount_cents"] for f in advance_fees(api)]


def units(api: Any) -> list[str]:
    return [f["units"] for f in advance_fees(api)]


def row_counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in STORED_TABLES}


def settle(api: Any, runtime: Runtime) -> None:
    """Run the queued pay-in-advance jobs."""
    drain(api, runtime)
