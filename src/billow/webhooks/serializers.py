"""Webhook endpoints and deliveries in API shape."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from billow.core.timefmt import iso_z
from billow.webhooks.models import Webhook, WebhookAttempt, WebhookEndpoint


def endpoint_payload(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "lago_id": str(endpoint.id),
        "lago_organization_id": str(endpoint.organization_id),
        "webhook_url": endpoint.webhook_url,
        "signature_algo": endpoint.signature_algo,
        "name": endpoint.name,
        "event_types": list(endpoint.event_types) if endpoint.event_types else None,
        "created_at": iso_z(endpoint.created_at),
    }


def attempt_payload(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "attempted_at": iso_z(attempt.attempted_at),
        "succeeded": attempt.succeeded,
        "http_status": attempt.http_status,
        "response": attempt.response,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
        "manual": attempt.manual,
    }


def webhook_payload(webhook: Webhook, attempts: Sequence[WebhookAttempt] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "lago_id": str(webhook.id),
        "lago_webhook_endpoint_id": str(webhook.webhook_endpoint_id),
        "webhook_type": webhook.webhook_type,
        "object_type": webhook.object_type,
        "object_id": webhook.object_id,
        "endpoint": webhook.endpoint,
        "status": webhook.status,
        "retries": webhook.retries,
        "http_status": webhook.http_status,
        "response": webhook.response,
        "last_retried_at": iso_z(webhook.last_retried_at),
        "created_at": iso_z(webhook.created_at),
        "updated_at": iso_z(webhook.updated_at),
        "payload": json.loads(webhook.payload),
    }
    if attempts is not None:
        data["attempts"] = [attempt_payload(a) for a in attempts]
    return data
