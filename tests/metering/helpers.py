"""Shared helpers for the metering tests: row counts, stored events, webhook bodies."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, text

from billow.metering.models import Event
from billow.runtime import Runtime
from billow.webhooks.models import Webhook

TABLES = ("billable_metrics", "billable_metric_filters", "events", "jobs", "webhooks")
HOOK_URL = "https://hooks.example.test/lago"


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in TABLES}


def stored_events(runtime: Runtime) -> list[Event]:
    with runtime.db.session() as session:
        return list(session.scalars(select(Event).order_by(Event.created_at, Event.transaction_id)))


def webhook_bodies(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.db.session() as session:
        rows = session.scalars(select(Webhook.payload).order_by(Webhook.created_at, Webhook.id)).all()
        return [json.loads(p) for p in rows]


def add_endpoint(api: Any) -> None:
    r = api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": HOOK_URL}})
    assert r.status_code == 200, r.text


def create_metric(api: Any, **fields: Any) -> dict[str, Any]:
    body = {"name": "Storage", "code": "storage", "aggregation_type": "sum_agg", "field_name": "gb", **fields}
    r = api.post("/billable_metrics", {"billable_metric": body})
    assert r.status_code == 200, r.text
    return r.json()["billable_metric"]  # type: ignore[no-any-return]


def errors(response: Any, status: int = 422) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    if status == 422:
        assert body["code"] == "validation_errors"
        assert body["error"] == "Unprocessable Entity"
        return body["error_details"]
    return body
