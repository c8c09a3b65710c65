"""``/taxes``: CRUD by code."""

from __future__ import annotations

from fastapi import APIRouter, Request

from billow.api.body import root_model
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.pricing.taxes import service
from billow.pricing.taxes.schemas import TaxInput
from billow.pricing.taxes.serializers import tax_api_payload, taxes_api_payload

router = APIRouter(tags=["taxes"])
ROOT = "tax"


@router.post("/taxes")
def create_tax(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, TaxInput)
    with unit_of_work(request, org_id) as ctx:
        tax = service.create_tax(ctx, data)
        payload = tax_api_payload(tax, service.tax_entities(ctx, tax))
    return one(ROOT, payload)


@router.get("/taxes")
def list_taxes(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        items, total = service.list_taxes(ctx, page)
        payload = taxes_api_payload(ctx.session, items)
    return many("taxes", payload, page, total)


@router.get("/taxes/{code}")
def get_tax(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        tax = service.get_tax(ctx, code)
        return one(ROOT, tax_api_payload(tax, service.tax_entities(ctx, tax)))


@router.put("/taxes/{code}")
def update_tax(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, TaxInput)
    with unit_of_work(request, org_id) as ctx:
        tax = service.update_tax(ctx, code, data)
        payload = tax_api_payload(tax, service.tax_entities(ctx, tax))
    return one(ROOT, payload)


@router.delete("/taxes/{code}")
def delete_tax(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        tax, entities = service.delete_tax(ctx, code)
        payload = tax_api_payload(tax, entities)
    return one(ROOT, payload)
