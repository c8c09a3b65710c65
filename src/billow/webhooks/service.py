"""Webhook endpoints (≤ 10 per organization, unique URL) and manual retries of deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from billow.core.errors import ErrorCollector, MethodNotAllowed, NotFound, ValidationFailed
from billow.core.pagination import PageParams
from billow.core.validators import is_http_url
from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.webhooks.catalog import accepted_filter_names
from billow.webhooks.emitter import DELIVER_JOB
from billow.webhooks.models import Webhook, WebhookAttempt, WebhookEndpoint
from billow.webhooks.schemas import WebhookEndpointInput

MAX_ENDPOINTS = 10
SIGNATURE_ALGOS = ("jwt", "hmac")


def _normalize_event_types(raw: Any, errors: ErrorCollector) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        errors.add("event_types", "must_be_array")
        return None
    names: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            errors.add("event_types", "must_be_array")
            return None
        name = item.strip().lower()
        if name and name not in names:
            names.append(name)
    if names == ["*"] or not names:
        return None
    invalid = sorted(set(names) - accepted_filter_names())
    if invalid:
        errors.add("event_types", f"contains invalid types: {', '.join(invalid)}")
    return names


def _get(ctx: Ctx, endpoint_id: str) -> WebhookEndpoint:
    try:
        parsed = uuid.UUID(endpoint_id)
    except ValueError as exc:
        raise NotFound("webhook_endpoint") from exc
    endpoint = ctx.session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == parsed, WebhookEndpoint.organization_id == ctx.org_id
        )
    )
    if endpoint is None:
        raise NotFound("webhook_endpoint")
    return endpoint


def get_endpoint(ctx: Ctx, endpoint_id: str) -> WebhookEndpoint:
    return _get(ctx, endpoint_id)


def _url_taken(ctx: Ctx, url: str, exclude: uuid.UUID | None) -> bool:
    stmt = select(WebhookEndpoint.id).where(
        WebhookEndpoint.organization_id == ctx.org_id, WebhookEndpoint.webhook_url == url
    )
    if exclude is not None:
        stmt = stmt.where(WebhookEndpoint.id != exclude)
    return ctx.session.scalar(stmt) is not None


def _validate(
    ctx: Ctx, data: WebhookEndpointInput, fields: set[str], *, existing: WebhookEndpoint | None
) -> dict[str, Any]:
    errors = ErrorCollector()
    values: dict[str, Any] = {}
    if existing is None or "webhook_url" in fields:
        url = data.webhook_url
        if url is None or (isinstance(url, str) and not url.strip()):
            errors.add("webhook_url", "value_is_mandatory")
        elif not isinstance(url, str) or not is_http_url(url.strip()):
            errors.add("webhook_url", "url_is_invalid")
        else:
            url = url.strip()
            if _url_taken(ctx, url, existing.id if existing else None):
                errors.add("webhook_url", "value_already_exist")
            values["webhook_url"] = url
    if "signature_algo" in fields and data.signature_algo is not None:
        if data.signature_algo not in SIGNATURE_ALGOS:
            errors.add("signature_algo", "value_is_invalid")
        else:
            values["signature_algo"] = data.signature_algo
    elif existing is None:
        values["signature_algo"] = "jwt"
    if "name" in fields:
        if data.name is not None and not isinstance(data.name, str):
            errors.add("name", "invalid_type")
        else:
            values["name"] = data.name
    if "event_types" in fields:
        values["event_types"] = _normalize_event_types(data.event_types, errors)
    errors.raise_if_any()
    return values


def create_endpoint(ctx: Ctx, data: WebhookEndpointInput) -> WebhookEndpoint:
    fields = set(data.model_fields_set)
    count = ctx.session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.organization_id == ctx.org_id)
    )
    values = _validate(ctx, data, fields, existing=None)
    if (count or 0) >= MAX_ENDPOINTS:
        raise ValidationFailed({"base": ["Maximum number of webhook endpoints was reached"]})
    now = ctx.now()
    endpoint = WebhookEndpoint(organization_id=ctx.org_id, created_at=now, updated_at=now, **values)
    ctx.session.add(endpoint)
    ctx.session.flush()
    return endpoint


def update_endpoint(ctx: Ctx, endpoint_id: str, data: WebhookEndpointInput) -> WebhookEndpoint:
    endpoint = _get(ctx, endpoint_id)
    values = _validate(ctx, data, set(data.model_fields_set), existing=endpoint)
    for key, value in values.items():
        setattr(endpoint, key, value)
    endpoint.updated_at = ctx.now()
    ctx.session.flush()
    return endpoint


def delete_endpoint(ctx: Ctx, endpoint_id: str) -> WebhookEndpoint:
    """Deletes the endpoint and its webhook history."""
    endpoint = _get(ctx, endpoint_id)
    ctx.session.delete(endpoint)
    ctx.session.flush()
    return endpoint


def list_endpoints(ctx: Ctx, page: PageParams) -> tuple[list[WebhookEndpoint], int]:
    base = select(WebhookEndpoint).where(WebhookEndpoint.organization_id == ctx.org_id)
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id).offset(page.offset).limit(page.per_page)
    ).all()
    return list(items), total


def endpoint_urls(ctx: Ctx) -> list[str]:
    return list(
        ctx.session.scalars(
            select(WebhookEndpoint.webhook_url)
            .where(WebhookEndpoint.organization_id == ctx.org_id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    )


def set_legacy_webhook_url(ctx: Ctx, url: str) -> None:
    """``PUT /organizations`` with ``webhook_url``: overwrite the first endpoint, or create one."""
    first = ctx.session.scalar(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == ctx.org_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        .limit(1)
    )
    data = WebhookEndpointInput(webhook_url=url)
    if first is None:
        create_endpoint(ctx, data)
    else:
        update_endpoint(ctx, str(first.id), data)


# Deliveries (Billow's own API: Lago exposes these in its UI only)


def list_webhooks(
    ctx: Ctx, page: PageParams, *, status: str | None = None, webhook_type: str | None = None
) -> tuple[list[Webhook], int]:
    base = select(Webhook).where(Webhook.organization_id == ctx.org_id)
    if status:
        base = base.where(Webhook.status == status)
    if webhook_type:
        base = base.where(Webhook.webhook_type == webhook_type)
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(Webhook.created_at.desc(), Webhook.id).offset(page.offset).limit(page.per_page)
    ).all()
    return list(items), total


def get_webhook(ctx: Ctx, webhook_id: str) -> tuple[Webhook, Sequence[WebhookAttempt]]:
    try:
        parsed = uuid.UUID(webhook_id)
    except ValueError as exc:
        raise NotFound("webhook") from exc
    webhook = ctx.session.scalar(
        select(Webhook).where(Webhook.id == parsed, Webhook.organization_id == ctx.org_id)
    )
    if webhook is None:
        raise NotFound("webhook")
    attempts = ctx.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.webhook_id == webhook.id)
        .order_by(WebhookAttempt.attempted_at)
    ).all()
    return webhook, attempts


def retry_webhook(ctx: Ctx, webhook_id: str) -> Webhook:
    """Send a webhook once more, by hand. Refused for one already delivered (``is_succeeded``)."""
    webhook, _ = get_webhook(ctx, webhook_id)
    if webhook.status == "succeeded":
        raise MethodNotAllowed("is_succeeded")
    webhook.status = "pending"
    webhook.updated_at = ctx.now()
    enqueue(ctx, DELIVER_JOB, {"webhook_id": str(webhook.id), "manual": True}, max_attempts=1)
    ctx.session.flush()
    return webhook
