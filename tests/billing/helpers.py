"""Billing scenario helpers: the catalog and subscriptions through the public API, the test clock,
and the invoices it produced."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import count
from typing import Any

from sqlalchemy import select

from billow.core.clock import ManualClock
from billow.runtime import Runtime
from billow.webhooks.models import Webhook
from tests.pricing.helpers import ok

HOOK_URL = "https://hooks.example.test/lago"

_tx = count(1)


def at(text: str) -> datetime:
    """An ISO-8601 instant as the test clock takes it (``...Z``), as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def start_clock(runtime: Runtime, when: datetime) -> None:
    """Restart the manual clock at ``when`` (tests begin wherever their scenario does)."""
    runtime.clock = ManualClock(when)
    runtime.scheduler.clock = runtime.clock
    runtime.worker.clock = runtime.clock


def clock(api: Any, when: str) -> None:
    """Move the test clock (ticking every hour boundary and draining jobs)."""
    ok(api.post("/test_helpers/clock", {"clock": {"now": when}}))


def drain(api: Any, runtime: Runtime) -> None:
    """Post the current time again: only drains the queue."""
    clock(api, runtime.clock.now().isoformat())


def customer(api: Any, external_id: str = "cus_1", **fields: Any) -> dict[str, Any]:
    return ok(api.post("/customers", {"customer": {"external_id": external_id, **fields}}))["customer"]


def plan(api: Any, code: str = "pro", **fields: Any) -> dict[str, Any]:
    body = {
        "name": code.title(),
        "code": code,
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "EUR",
        "pay_in_advance": False,
        **fields,
    }
    return ok(api.post("/plans", {"plan": body}))["plan"]


def subscribe(
    api: Any, plan_code: str = "pro", external_id: str = "sub_1", customer_id: str = "cus_1", **fields: Any
) -> dict[str, Any]:
    body = {"external_customer_id": customer_id, "plan_code": plan_code, "external_id": external_id, **fields}
    return ok(api.post("/subscriptions", {"subscription": body}))["subscription"]


def terminate(api: Any, external_id: str = "sub_1", **params: Any) -> dict[str, Any]:
    return ok(api.delete(f"/subscriptions/{external_id}", **params))["subscription"]


def invoices(api: Any, **params: Any) -> list[dict[str, Any]]:
    """Every visible invoice, oldest first (with fees and billing periods)."""
    listed = ok(api.get("/invoices", per_page=1000, **params))["invoices"]
    detailed = [ok(api.get(f"/invoices/{i['lago_id']}"))["invoice"] for i in listed]
    return sorted(detailed, key=lambda i: (i["created_at"], i["issuing_date"], i["lago_id"]))


def fee_amounts(invoice: dict[str, Any]) -> dict[str, int]:
    return {f["item"]["type"]: f["amount_cents"] for f in invoice["fees"]}


def fee_of(invoice: dict[str, Any], fee_type: str) -> dict[str, Any]:
    matching = [f for f in invoice["fees"] if f["item"]["type"] == fee_type]
    assert len(matching) == 1, invoice["fees"]
    return matching[0]


def metric(api: Any, code: str, aggregation_type: str = "count_agg", **fields: Any) -> dict[str, Any]:
    body = {"name": code.title(), "code": code, "aggregation_type": aggregation_type, **fields}
    return ok(api.post("/billable_metrics", {"billable_metric": body}))["billable_metric"]


def event(api: Any, code: str, when: datetime, sub: str = "sub_1", **properties: Any) -> None:
    body = {
        "transaction_id": f"tx_{next(_tx)}",
        "external_subscription_id": sub,
        "code": code,
        "timestamp": int(when.timestamp()),
        "properties": properties,
    }
    ok(api.post("/events", {"event": body}))


def add_endpoint(api: Any) -> None:
    ok(api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": HOOK_URL}}))


def webhooks(runtime: Runtime, *types: str) -> list[dict[str, Any]]:
    with runtime.db.session() as session:
        rows = session.execute(
            select(Webhook.webhook_type, Webhook.payload).order_by(Webhook.created_at, Webhook.id)
        ).all()
    return [json.loads(p) for t, p in rows if not types or t in types]


def tick_at(runtime: Runtime, when: datetime) -> None:
    """Jump the clock to ``when`` (no tick in between), run that hour's tick, drain the queue."""
    clock_ = runtime.manual_clock
    assert clock_ is not None
    clock_.set(when)
    runtime.scheduler.run_tick(when.replace(minute=0, second=0, microsecond=0))
    runtime.worker.drain()
