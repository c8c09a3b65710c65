"""Webhook endpoints, the JWT public key, and Billow's delivery log (list, inspect, retry)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse

from billow.api.body import root_model
from billow.api.deps import OrgId, RawBody, runtime_of, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.webhooks import service
from billow.webhooks.schemas import WebhookEndpointInput
from billow.webhooks.serializers import endpoint_payload, webhook_payload

router = APIRouter(tags=["webhooks"])


@router.get("/webhooks/public_key")
def public_key(request: Request, _org_id: OrgId) -> PlainTextResponse:
    return PlainTextResponse(runtime_of(request).signer.public_key_b64)


@router.get("/webhooks/json_public_key")
def json_public_key(request: Request, _org_id: OrgId) -> JsonResponse:
    return one("webhook", {"public_key": runtime_of(request).signer.public_key_b64})


@router.get("/webhooks")
def list_webhooks(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    q = request.query_params
    with unit_of_work(request, org_id) as ctx:
        items, total = service.list_webhooks(
            ctx, page, status=q.get("status"), webhook_type=q.get("webhook_type")
        )
        payload = [webhook_payload(w) for w in items]
    return many("webhooks", payload, page, total)


@router.get("/webhooks/{webhook_id}")
def get_webhook(request: Request, org_id: OrgId, webhook_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        webhook, attempts = service.get_webhook(ctx, webhook_id)
        return one("webhook", webhook_payload(webhook, attempts))


@router.post("/webhooks/{webhook_id}/retry")
def retry_webhook(request: Request, org_id: OrgId, webhook_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        webhook = service.retry_webhook(ctx, webhook_id)
        payload = webhook_payload(webhook)
    return one("webhook", payload)


@router.post("/webhook_endpoints")
def create_endpoint(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, "webhook_endpoint", WebhookEndpointInput)
    with unit_of_work(request, org_id) as ctx:
        payload = endpoint_payload(service.create_endpoint(ctx, data))
    return one("webhook_endpoint", payload)


@router.get("/webhook_endpoints")
def list_endpoints(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        items, total = service.list_endpoints(ctx, page)
        payload = [endpoint_payload(e) for e in items]
    return many("webhook_endpoints", payload, page, total)


@router.get("/webhook_endpoints/{lago_id}")
def get_endpoint(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one("webhook_endpoint", endpoint_payload(service.get_endpoint(ctx, lago_id)))


@router.put("/webhook_endpoints/{lago_id}")
def update_endpoint(request: Request, org_id: OrgId, lago_id: str, body: RawBody) -> JsonResponse:
    data = root_model(body, "webhook_endpoint", WebhookEndpointInput)
    with unit_of_work(request, org_id) as ctx:
        payload = endpoint_payload(service.update_endpoint(ctx, lago_id, data))
    return one("webhook_endpoint", payload)


@router.delete("/webhook_endpoints/{lago_id}")
def delete_endpoint(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        payload = endpoint_payload(service.delete_endpoint(ctx, lago_id))
    return one("webhook_endpoint", payload)
