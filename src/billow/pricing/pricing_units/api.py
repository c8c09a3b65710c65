"""``/pricing_units``: CRUD by code (a Billow extension: Lago manages pricing units in its UI)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from billow.api.body import root_model
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.pricing.plans.service import pricing_unit_in_use
from billow.pricing.pricing_units import service
from billow.pricing.pricing_units.schemas import PricingUnitInput
from billow.pricing.pricing_units.serializers import pricing_unit_payload

router = APIRouter(tags=["pricing_units"])
ROOT = "pricing_unit"


@router.post("/pricing_units")
def create_pricing_unit(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, PricingUnitInput)
    with unit_of_work(request, org_id) as ctx:
        payload = pricing_unit_payload(service.create_pricing_unit(ctx, data))
    return one(ROOT, payload)


@router.get("/pricing_units")
def list_pricing_units(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        items, total = service.list_pricing_units(ctx, page)
        payload = [pricing_unit_payload(u) for u in items]
    return many("pricing_units", payload, page, total)


@router.get("/pricing_units/{code}")
def get_pricing_unit(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one(ROOT, pricing_unit_payload(service.get_pricing_unit(ctx, code)))


@router.put("/pricing_units/{code}")
def update_pricing_unit(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, PricingUnitInput)
    with unit_of_work(request, org_id) as ctx:
        payload = pricing_unit_payload(service.update_pricing_unit(ctx, code, data))
    return one(ROOT, payload)


@router.delete("/pricing_units/{code}")
def delete_pricing_unit(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        unit = service.get_pricing_unit(ctx, code)
        payload = pricing_unit_payload(
            service.delete_pricing_unit(ctx, code, in_use=pricing_unit_in_use(ctx, unit.id))
        )
    return one(ROOT, payload)
