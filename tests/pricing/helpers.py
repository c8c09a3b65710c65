"""Shared helpers for the catalog API tests: row counts and small factories through the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from billow.runtime import Runtime

CATALOG_TABLES = (
    "taxes",
    "billing_entity_taxes",
    "add_ons",
    "add_on_taxes",
    "coupons",
    "coupon_targets",
    "applied_coupons",
    "jobs",
    "webhooks",
)


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in CATALOG_TABLES}


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def create_tax(api: Any, code: str = "vat", rate: Any = "20.0", **fields: Any) -> dict[str, Any]:
    body = {"name": fields.pop("name", code.upper()), "code": code, "rate": rate, **fields}
    return ok(api.post("/taxes", {"tax": body}))["tax"]


def create_customer(api: Any, external_id: str = "cus_1", **fields: Any) -> dict[str, Any]:
    return ok(api.post("/customers", {"customer": {"external_id": external_id, **fields}}))["customer"]


def create_metric(api: Any, code: str = "api_calls") -> dict[str, Any]:
    body = {"name": code, "code": code, "aggregation_type": "count_agg"}
    return ok(api.post("/billable_metrics", {"billable_metric": body}))["billable_metric"]


def create_plan(api: Any, code: str = "pro", **fields: Any) -> dict[str, Any]:
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


FIXED_COUPON = {
    "name": "Startup deal",
    "code": "startup",
    "coupon_type": "fixed_amount",
    "amount_cents": 5000,
    "amount_currency": "EUR",
    "frequency": "once",
    "expiration": "no_expiration",
}

PERCENT_COUPON = {
    "name": "Ten percent",
    "code": "ten",
    "coupon_type": "percentage",
    "percentage_rate": "10",
    "frequency": "recurring",
    "frequency_duration": 3,
    "expiration": "time_limit",
    "expiration_at": "2024-03-01T12:00:00Z",
}


def create_coupon(api: Any, base: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    body = {**(base or FIXED_COUPON), **fields}
    return ok(api.post("/coupons", {"coupon": body}))["coupon"]


def error(status: int, code: str) -> dict[str, Any]:
    names = {404: "Not Found", 405: "Method Not Allowed"}
    return {"status": status, "error": names[status], "code": code}


def validation(details: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": details,
    }
