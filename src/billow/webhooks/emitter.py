"""``emit``: turn a state change into one stored webhook + one delivery job per endpoint.

Called by services inside their transaction, so the webhook commits with the change or not at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from billow.core.ids import new_id
from billow.db.context import Ctx
from billow.db.prefetch import memo, writes_deferred
from billow.jobs.queue import enqueue_each
from billow.webhooks.catalog import CATALOG, WebhookType
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

    In a group of jobs, a job whose writes wait for the group's flush
    (``billow.db.prefetch.defer_writes``) has its webhooks of a type with a batch serializer
    serialized with the group's others at the group's end, as of the same instant and with the
    same ids (nothing the payload reads changes after the job emits it).
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
    stored = _Stored(entry, obj, targets, ctx.now(), [new_id() for _ in targets])
    if entry.batch_serializer is not None and ctx.prefetched is not None and writes_deferred(ctx):
        waiting: list[_Stored] = ctx.prefetched.memo(_DEFERRED, ctx.org_id, list)
        if not waiting:
            ctx.prefetched.before_commit(_DEFERRED, lambda: _write_deferred(ctx, waiting))
        waiting.append(stored)
        return len(targets)
    _store(ctx, [stored], [entry.serializer(ctx.session, obj)])
    return len(targets)


_DEFERRED = "webhooks.deferred"


@dataclass(frozen=True)
class _Stored:
    """A webhook to write: its type, object, endpoints, instant and row ids (one per endpoint)."""

    entry: WebhookType
    obj: Any
    targets: list[WebhookEndpoint]
    at: datetime
    ids: list[uuid.UUID]


def _write_deferred(ctx: Ctx, waiting: list[_Stored]) -> None:
    """The group's deferred webhooks: each type's payloads serialized together, then stored."""
    by_type: dict[str, list[_Stored]] = {}
    for item in waiting:
        by_type.setdefault(item.entry.name, []).append(item)
    for items in by_type.values():
        batch = items[0].entry.batch_serializer
        assert batch is not None
        _store(ctx, items, batch(ctx.session, [item.obj for item in items]))
    waiting.clear()


def _store(ctx: Ctx, items: Sequence[_Stored], payloads: Sequence[dict[str, Any]]) -> None:
    """The webhook rows of ``items`` (``payloads`` in order) and their delivery jobs."""
    deliveries: list[dict[str, Any]] = []
    for item, payload in zip(items, payloads, strict=True):
        entry = item.entry
        body = encode_body(
            {
                "webhook_type": entry.body_name,
                "object_type": entry.object_type,
                "organization_id": str(ctx.org_id),
                entry.object_type: payload,
            }
        )
        object_id = getattr(item.obj, "id", None)
        for endpoint, webhook_id in zip(item.targets, item.ids, strict=True):
            ctx.session.add(
                Webhook(
                    id=webhook_id,
                    organization_id=ctx.org_id,
                    webhook_endpoint_id=endpoint.id,
                    webhook_type=entry.body_name,
                    object_type=entry.object_type,
                    object_id=str(object_id) if object_id is not None else None,
                    payload=body,
                    status="pending",
                    retries=0,
                    endpoint=endpoint.webhook_url,
                    created_at=item.at,
                    updated_at=item.at,
                )
            )
            deliveries.append({"webhook_id": str(webhook_id)})
    enqueue_each(ctx, DELIVER_JOB, deliveries, max_attempts=ctx.settings.webhook_max_attempts)
