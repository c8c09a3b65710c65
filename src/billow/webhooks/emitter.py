"""``emit``: turn a state change into one stored webhook + one delivery job per endpoint.

Called by services inside their transaction, so the webhook commits with the change or not at all.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, select

from billow.db.context import Ctx
from billow.db.prefetch import memo
from billow.jobs.queue import enqueue
from billow.webhooks.catalog import CATALOG
from billow.webhooks.models import Webhook, WebhookEndpoint

DELIVER_JOB = "webhook.deliver"


def encode_body(envelope: dict[str, Any]) -> str:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def endpoint_accepts(endpoint: WebhookEndpoint, names: set[str]) -> bool:
    if not endpoint.event_types:
        return True
    return any(name in endpoint.event_types for name in names)


# Built once (asked for every invoice; building a statement costs more than running it): the
# values are bound.
_ENDPOINTS = (
    select(WebhookEndpoint)
    .where(WebhookEndpoint.organization_id == bindparam("org"))
    .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
)


def emit(ctx: Ctx, webhook_type: str, obj: Any) -> int:
    """Queue ``webhook_type`` about ``obj`` for every endpoint of the organization that wants it.

    The payload is serialized once, now, and every retry resends exactly these bytes.
    Returns the number of webhooks queued (0 when the organization has no endpoint).
    """
    entry = CATALOG[webhook_type]
    if entry.serializer is None:
        raise RuntimeError(f"webhook type {webhook_type} has no serializer yet")
    # A group of jobs run in one transaction (``billow.db.prefetch``) reads them once: no job
    # kind that runs in groups writes endpoints.
    endpoints = memo(
        ctx,
        "webhooks.endpoints",
        ctx.org_id,
        lambda: ctx.session.scalars(_ENDPOINTS, {"org": ctx.org_id}).all(),
    )
    targets = [e for e in endpoints if endpoint_accepts(e, {entry.name, entry.body_name})]
    if not targets:
        return 0
    envelope = {
        "webhook_type": entry.body_name,
        "object_type": entry.object_type,
        "organization_id": str(ctx.org_id),
        entry.object_type: entry.serializer(ctx.session, obj),
    }
    body = encode_body(envelope)
    object_id = getattr(obj, "id", None)
    now = ctx.now()
    for endpoint in targets:
        webhook = Webhook(
            organization_id=ctx.org_id,
            webhook_endpoint_id=endpoint.id,
            webhook_type=entry.body_name,
            object_type=entry.object_type,
            object_id=str(object_id) if object_id is not None else None,
            payload=body,
            status="pending",
            retries=0,
            endpoint=endpoint.webhook_url,
            created_at=now,
            updated_at=now,
        )
        ctx.session.add(webhook)
        ctx.session.flush()
        enqueue(
            ctx,
            DELIVER_JOB,
            {"webhook_id": str(webhook.id)},
            max_attempts=ctx.settings.webhook_max_attempts,
        )
    return len(targets)
