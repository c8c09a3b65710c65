"""``/api/v1/subscriptions`` and ``/api/v1/customers/{external_customer_id}/subscriptions``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billow.api.body import parse_json, require_root, root_model, validate
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.customers.service import get_customer
from billow.subscriptions import queries, serializers
from billow.subscriptions.create import create_subscription
from billow.subscriptions.schemas import SubscriptionCreateInput, SubscriptionUpdateInput
from billow.subscriptions.terminate import UNSET, Option, terminate_or_cancel
from billow.subscriptions.update import find_for_update, update_subscription

router = APIRouter(tags=["subscriptions"])


@router.post("/subscriptions")
def create(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, "subscription", SubscriptionCreateInput)
    with unit_of_work(request, org_id) as ctx:
        subscription = create_subscription(ctx, data)
        payload = serializers.subscription_payload(
            ctx.session, subscription, now=ctx.now(), include=serializers.CREATE
        )
    return one("subscription", payload)


@router.get("/subscriptions")
def list_subscriptions(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    filters = queries.parse_filters(request.query_params.multi_items())
    with unit_of_work(request, org_id) as ctx:
        items, total = queries.list_subscriptions(ctx, filters, page)
        payload = serializers.subscription_payloads(ctx.session, items, now=ctx.now())
    return many("subscriptions", payload, page, total)


@router.get("/customers/{external_customer_id}/subscriptions")
def list_customer_subscriptions(
    request: Request, org_id: OrgId, external_customer_id: str, page: Page
) -> JsonResponse:
    filters = queries.parse_filters(request.query_params.multi_items())
    with unit_of_work(request, org_id) as ctx:
        customer = get_customer(ctx, external_customer_id)
        items, total = queries.list_subscriptions(ctx, filters, page, customer_id=customer.id)
        payload = serializers.subscription_payloads(ctx.session, items, now=ctx.now())
    return many("subscriptions", payload, page, total)


@router.get("/subscriptions/{external_id}")
def get_subscription(request: Request, org_id: OrgId, external_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        subscription = queries.get_subscription(ctx, external_id, request.query_params.get("status"))
        payload = serializers.subscription_payload(
            ctx.session, subscription, now=ctx.now(), include=serializers.SHOW
        )
    return one("subscription", payload)


@router.put("/subscriptions/{external_id}")
def update(request: Request, org_id: OrgId, external_id: str, body: RawBody) -> JsonResponse:
    document: Any = parse_json(body)
    data = validate(SubscriptionUpdateInput, require_root(document, "subscription"))
    status = request.query_params.get("status") or (
        document.get("status") if isinstance(document, dict) else None
    )
    with unit_of_work(request, org_id) as ctx:
        subscription = find_for_update(ctx, external_id, status if isinstance(status, str) else None)
        update_subscription(ctx, subscription, data)
        payload = serializers.subscription_payload(
            ctx.session, subscription, now=ctx.now(), include=serializers.UPDATE
        )
    return one("subscription", payload)


def _option(request: Request, name: str) -> Option:
    q = request.query_params
    return q.get(name) if name in q else UNSET


@router.delete("/subscriptions/{external_id}")
def terminate(request: Request, org_id: OrgId, external_id: str) -> JsonResponse:
    credit_note = _option(request, "on_termination_credit_note")
    invoice = _option(request, "on_termination_invoice")
    with unit_of_work(request, org_id) as ctx:
        subscription = queries.find_for_termination(ctx, external_id, request.query_params.get("status"))
        terminate_or_cancel(ctx, subscription, credit_note=credit_note, invoice=invoice)
        payload = serializers.subscription_payload(
            ctx.session, subscription, now=ctx.now(), include=serializers.TERMINATE
        )
    return one("subscription", payload)
