"""``/api/v1/customers``: upsert (POST), list, get and soft delete by external id."""

from __future__ import annotations

from fastapi import APIRouter, Request

from billow.api.body import root_model
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.customers import queries, service
from billow.customers.schemas import CustomerInput
from billow.customers.serializers import DETAIL, LIST, customer_payload, customer_payloads

router = APIRouter(tags=["customers"])


@router.post("/customers")
def upsert_customer(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, "customer", CustomerInput)
    with unit_of_work(request, org_id) as ctx:
        result = service.upsert_customer(ctx, data)
        payload = customer_payload(ctx.session, result.customer, includes=DETAIL)
    return one("customer", payload)


@router.get("/customers")
def list_customers(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    filters = queries.parse_filters(request.query_params.multi_items())
    with unit_of_work(request, org_id) as ctx:
        items, total = queries.list_customers(ctx, filters, page)
        payload = customer_payloads(ctx.session, items, includes=LIST)
    return many("customers", payload, page, total)


@router.get("/customers/{external_id}")
def get_customer(request: Request, org_id: OrgId, external_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one(
            "customer", customer_payload(ctx.session, service.get_customer(ctx, external_id), includes=DETAIL)
        )


@router.delete("/customers/{external_id}")
def delete_customer(request: Request, org_id: OrgId, external_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        payload = customer_payload(ctx.session, service.delete_customer(ctx, external_id), includes=DETAIL)
    return one("customer", payload)
