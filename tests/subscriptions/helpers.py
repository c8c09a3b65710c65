"""Shared helpers for the subscription lifecycle tests: API factories, queued jobs and webhooks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from billow.jobs.models import Job
from billow.runtime import Runtime
from billow.webhooks.models import Webhook
from tests.pricing.helpers import create_customer, create_plan, ok

HOOK_URL = "https://hooks.example.test/lago"
BILL = "billing.bill_subscriptions"
TABLES = ("subscriptions", "customers", "plans", "jobs", "webhooks")

__all__ = [
    "BILL",
    "add_endpoint",
    "bill_jobs",
    "counts",
    "create_customer",
    "create_plan",
    "errors",
    "move",
    "ok",
    "subscribe",
    "webhooks",
]


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in TABLES}


def add_endpoint(api: Any) -> None:
    ok(api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": HOOK_URL}}))


def webhooks(runtime: Runtime, *types: str) -> list[dict[str, Any]]:
    """Queued webhook bodies, oldest first (only ``types`` when given)."""
    with runtime.db.session() as session:
        stmt = select(Webhook.webhook_type, Webhook.payload).order_by(Webhook.created_at, Webhook.id)
        rows = session.execute(stmt).all()
    return [json.loads(p) for t, p in rows if not types or t in types]


def webhook_types(runtime: Runtime) -> list[str]:
    return [w["webhook_type"] for w in webhooks(runtime)]


def bill_jobs(runtime: Runtime) -> list[dict[str, Any]]:
    """Every ``billing.bill_subscriptions`` job: unique key and payload, oldest first."""
    with runtime.db.session() as session:
        rows = session.execute(
            select(Job.unique_key, Job.payload, Job.organization_id).where(Job.kind == BILL).order_by(Job.id)
        ).all()
    return [{"unique_key": k, "payload": p, "organization_id": o} for k, p, o in rows]


def subscribe(api: Any, external_id: str = "sub_1", plan_code: str = "pro", **fields: Any) -> Any:
    body = {"external_customer_id": "cus_1", "plan_code": plan_code, "external_id": external_id, **fields}
    return api.post("/subscriptions", {"subscription": body})


def subscribed(api: Any, external_id: str = "sub_1", plan_code: str = "pro", **fields: Any) -> dict[str, Any]:
    return ok(subscribe(api, external_id, plan_code, **fields))["subscription"]


def errors(response: Any, status: int = 422) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    return body.get("error_details", body.get("code"))


def move(runtime: Runtime, when: datetime) -> None:
    """Move the manual clock to ``when`` without ticking (the tests tick explicitly)."""
    clock = runtime.manual_clock
    assert clock is not None
    clock.set(when)
