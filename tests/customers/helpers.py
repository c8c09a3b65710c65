"""Shared helpers for the customers tests: row counts, webhook bodies, expected payloads."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select, text

from billow.organizations.service import default_prefix
from billow.runtime import Runtime
from billow.webhooks.models import Webhook

TABLES = ("customers", "customer_metadata", "jobs", "webhooks")
HOOK_URL = "https://hooks.example.test/lago"


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in TABLES}


def webhook_bodies(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.db.session() as session:
        rows = session.scalars(
            select(Webhook.payload).order_by(Webhook.created_at, Webhook.webhook_type)
        ).all()
        return [json.loads(p) for p in rows]


def webhook_count(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Webhook)) or 0)


def add_endpoint(api: Any) -> None:
    r = api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": HOOK_URL}})
    assert r.status_code == 200, r.text


def slug(org: Any, n: int) -> str:
    return f"{default_prefix('Acme', org.id)}-{n:03d}"


def bare_customer(lago_id: str, org: Any, external_id: str = "cus_1", **overrides: Any) -> dict[str, Any]:
    """The API payload of a customer created with nothing but ``external_id`` at 2024-01-01."""
    payload: dict[str, Any] = {
        "lago_id": lago_id,
        "billing_entity_code": "acme",
        "external_id": external_id,
        "account_type": "customer",
        "name": None,
        "firstname": None,
        "lastname": None,
        "customer_type": None,
        "sequential_id": 1,
        "slug": slug(org, 1),
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "country": None,
        "address_line1": None,
        "address_line2": None,
        "state": None,
        "zipcode": None,
        "email": None,
        "city": None,
        "url": None,
        "phone": None,
        "logo_url": None,
        "legal_name": None,
        "legal_number": None,
        "currency": None,
        "tax_identification_number": None,
        "timezone": None,
        "applicable_timezone": "UTC",
        "net_payment_term": None,
        "external_salesforce_id": None,
        "finalize_zero_amount_invoice": "inherit",
        "billing_configuration": {
            "invoice_grace_period": None,
            "payment_provider": None,
            "payment_provider_code": None,
            "document_locale": None,
            "subscription_invoice_issuing_date_anchor": None,
            "subscription_invoice_issuing_date_adjustment": None,
        },
        "shipping_address": {
            "address_line1": None,
            "address_line2": None,
            "city": None,
            "zipcode": None,
            "state": None,
            "country": None,
        },
        "skip_invoice_custom_sections": False,
        "metadata": [],
        "taxes": [],
        "integration_customers": [],
        "applicable_invoice_custom_sections": [],
        "error_details": [],
    }
    payload.update(overrides)
    return payload


def webhook_object(api_payload: dict[str, Any]) -> dict[str, Any]:
    """The webhook carries Lago's CustomerObject: no taxes, custom sections or error details."""
    return {
        k: v
        for k, v in api_payload.items()
        if k not in ("taxes", "applicable_invoice_custom_sections", "error_details")
    }
