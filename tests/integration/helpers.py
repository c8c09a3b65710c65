"""Shared helpers for the hook tests: everything is made through the API; the side effects are read
back from the tables (rows, queued webhooks, queued jobs)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, text

from billow.jobs.models import Job
from billow.runtime import Runtime
from billow.webhooks.models import Webhook
from tests.pricing.helpers import (
    FIXED_COUPON,
    PERCENT_COUPON,
    create_coupon,
    create_customer,
    create_plan,
    create_tax,
    error,
    ok,
    validation,
)

__all__ = [
    "FIXED_COUPON",
    "HOOK_URL",
    "PERCENT_COUPON",
    "add_endpoint",
    "counts",
    "create_coupon",
    "create_customer",
    "create_metric",
    "create_plan",
    "create_tax",
    "embedded_tax",
    "error",
    "jobs",
    "ok",
    "rows",
    "subscribed",
    "validation",
    "webhook_types",
    "webhooks",
]

HOOK_URL = "https://hooks.example.test/lago"
TABLES = (
    "customers",
    "customer_taxes",
    "subscriptions",
    "applied_coupons",
    "billable_metrics",
    "billable_metric_filters",
    "plans",
    "charges",
    "charge_filters",
    "fixed_charges",
    "add_ons",
    "jobs",
    "webhooks",
)


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in TABLES}


def rows(runtime: Runtime, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with runtime.db.session() as session:
        return [tuple(r) for r in session.execute(text(sql), params).all()]


def add_endpoint(api: Any) -> None:
    ok(api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": HOOK_URL}}))


def webhooks(runtime: Runtime, *types: str) -> list[dict[str, Any]]:
    """Queued webhook bodies, oldest first (only ``types`` when given)."""
    with runtime.db.session() as session:
        stmt = select(Webhook.webhook_type, Webhook.payload).order_by(Webhook.created_at, Webhook.id)
        found = session.execute(stmt).all()
    return [json.loads(p) for t, p in found if not types or t in types]


def webhook_types(runtime: Runtime) -> list[str]:
    return [w["webhook_type"] for w in webhooks(runtime)]


def jobs(runtime: Runtime, kind: str) -> list[tuple[str | None, str]]:
    """``(unique_key, status)`` of every job of ``kind``, oldest first."""
    with runtime.db.session() as session:
        found = session.execute(select(Job.unique_key, Job.status).where(Job.kind == kind).order_by(Job.id))
        return [(k, s) for k, s in found]


def embedded_tax(tax: dict[str, Any]) -> dict[str, Any]:
    """A tax as other objects embed it (the ``/taxes`` payload without its entity codes)."""
    return {k: v for k, v in tax.items() if k != "applied_to_billing_entities_codes"}


def create_metric(api: Any, code: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": code.title(),
        "code": code,
        "aggregation_type": "sum_agg",
        "field_name": "value",
        **fields,
    }
    return ok(api.post("/billable_metrics", {"billable_metric": body}))["billable_metric"]


def subscribed(
    api: Any, external_id: str, plan_code: str = "pro", customer: str = "cus_1", **fields: Any
) -> dict[str, Any]:
    body = {"external_customer_id": customer, "plan_code": plan_code, "external_id": external_id, **fields}
    return ok(api.post("/subscriptions", {"subscription": body}))["subscription"]
