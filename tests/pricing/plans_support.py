"""Shared setup for the plan tests: a catalog (metrics, add-on, tax, pricing unit) made through
the API, row counts of the plan tables, webhook bodies, and JSON builders for expected payloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text

from billow.runtime import Runtime
from billow.webhooks.models import Webhook
from tests.pricing.helpers import create_tax, ok

PLAN_TABLES = (
    "plans",
    "charges",
    "charge_filters",
    "fixed_charges",
    "usage_thresholds",
    "commitments",
    "plan_item_taxes",
    "jobs",
    "webhooks",
)
HOOK_URL = "https://hooks.example.test/lago"
T0 = "2024-01-01T00:00:00Z"


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in PLAN_TABLES}


def webhooks(runtime: Runtime, webhook_type: str | None = None) -> list[dict[str, Any]]:
    with runtime.db.session() as session:
        stmt = select(Webhook.payload).order_by(Webhook.created_at, Webhook.id)
        if webhook_type:
            stmt = stmt.where(Webhook.webhook_type == webhook_type)
        return [json.loads(p) for p in session.scalars(stmt)]


def add_endpoint(api: Any) -> None:
    ok(api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": HOOK_URL}}))


def create_metric(api: Any, code: str, aggregation_type: str = "sum_agg", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": code.title(), "code": code, "aggregation_type": aggregation_type}
    if aggregation_type != "count_agg":
        body["field_name"] = "value"
    if aggregation_type == "weighted_sum_agg":
        body["weighted_interval"] = "seconds"
    body.update(fields)
    return ok(api.post("/billable_metrics", {"billable_metric": body}))["billable_metric"]


@dataclass
class Catalog:
    vat: dict[str, Any]
    api_calls: dict[str, Any]
    storage: dict[str, Any]
    transactions: dict[str, Any]
    seats: dict[str, Any]
    add_on: dict[str, Any]
    credits: dict[str, Any]

    def metric_id(self, code: str) -> str:
        return str(getattr(self, code)["lago_id"])


def make_catalog(api: Any) -> Catalog:
    vat = create_tax(api, "vat", "20")
    filters = [{"key": "region", "values": ["eu", "us"]}, {"key": "tier", "values": ["gold", "silver"]}]
    return Catalog(
        vat={k: v for k, v in vat.items() if k != "applied_to_billing_entities_codes"},
        api_calls=create_metric(api, "api_calls", "count_agg"),
        storage=create_metric(api, "storage", filters=filters),
        transactions=create_metric(api, "transactions"),
        seats=create_metric(api, "seats", recurring=True),
        add_on=ok(
            api.post(
                "/add_ons",
                {
                    "add_on": {
                        "name": "Setup",
                        "code": "setup",
                        "amount_cents": 50000,
                        "amount_currency": "EUR",
                    }
                },
            )
        )["add_on"],
        credits=ok(
            api.post(
                "/pricing_units", {"pricing_unit": {"name": "Credits", "code": "credits", "short_name": "CR"}}
            )
        )["pricing_unit"],
    )


def plan_body(**fields: Any) -> dict[str, Any]:
    body = {
        "name": "Startup",
        "code": "startup",
        "interval": "monthly",
        "amount_cents": 10000,
        "amount_currency": "EUR",
        "pay_in_advance": False,
    }
    body.update(fields)
    return body


def base_json(lago_id: str, **overrides: Any) -> dict[str, Any]:
    payload = {
        "lago_id": lago_id,
        "name": "Startup",
        "invoice_display_name": None,
        "created_at": T0,
        "code": "startup",
        "interval": "monthly",
        "description": None,
        "amount_cents": 10000,
        "amount_currency": "EUR",
        "trial_period": None,
        "pay_in_advance": False,
        "bill_charges_monthly": None,
        "bill_fixed_charges_monthly": None,
        "customers_count": 0,
        "active_subscriptions_count": 0,
        "draft_invoices_count": 0,
        "parent_id": None,
        "pending_deletion": False,
        "charges": [],
        "fixed_charges": [],
        "entitlements": [],
        "usage_thresholds": [],
        "applicable_usage_thresholds": [],
        "taxes": [],
    }
    payload.update(overrides)
    return payload


def charge_json(
    created: dict[str, Any],
    metric: dict[str, Any],
    charge_model: str,
    properties: dict[str, Any],
    **overrides: Any,
) -> dict[str, Any]:
    """A charge as Lago renders it; ``created`` gives the ids Billow chose."""
    payload = {
        "lago_id": created["lago_id"],
        "lago_billable_metric_id": metric["lago_id"],
        "code": metric["code"],
        "invoice_display_name": None,
        "billable_metric_code": metric["code"],
        "created_at": T0,
        "charge_model": charge_model,
        "invoiceable": True,
        "regroup_paid_fees": None,
        "pay_in_advance": False,
        "prorated": False,
        "min_amount_cents": 0,
        "accepts_target_wallet": False,
        "properties": properties,
        "applied_pricing_unit": None,
        "lago_parent_id": None,
        "filters": [],
        "taxes": [],
    }
    payload.update(overrides)
    return payload


def webhook_plan(api_payload: dict[str, Any], *, deleted: bool = False) -> dict[str, Any]:
    """What ``plan.created``/``updated`` (or ``deleted``) carry: the API payload without fixed
    charges and applicable thresholds (and without entitlements for ``deleted``)."""
    dropped = {"fixed_charges", "applicable_usage_thresholds"} | ({"entitlements"} if deleted else set())
    return {k: v for k, v in api_payload.items() if k not in dropped}


def error(status: int, code: str) -> dict[str, Any]:
    names = {403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}
    return {"status": status, "error": names[status], "code": code}
