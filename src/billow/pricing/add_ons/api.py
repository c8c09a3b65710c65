"""``/add_ons``: CRUD by code."""

from __future__ import annotations

from fastapi import APIRouter, Request

from billow.api.body import root_model
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.pricing.add_ons import service
from billow.pricing.add_ons.schemas import AddOnInput
from billow.pricing.add_ons.serializers import add_ons_payload, one_add_on_payload

router = APIRouter(tags=["add_ons"])
ROOT = "add_on"


@router.post("/add_ons")
def create_add_on(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, AddOnInput)
    with unit_of_work(request, org_id) as ctx:
        payload = one_add_on_payload(ctx.session, service.create_add_on(ctx, data))
    return one(ROOT, payload)


@router.get("/add_ons")
def list_add_ons(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        items, total = service.list_add_ons(ctx, page)
        payload = add_ons_payload(ctx.session, items)
    return many("add_ons", payload, page, total)


@router.get("/add_ons/{code}")
def get_add_on(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one(ROOT, one_add_on_payload(ctx.session, service.get_add_on(ctx, code)))


@router.put("/add_ons/{code}")
def update_add_on(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, AddOnInput)
    with unit_of_work(request, org_id) as ctx:
        payload = one_add_on_payload(ctx.session, service.update_add_on(ctx, code, data))
    return one(ROOT, payload)


@router.delete("/add_ons/{code}")
def delete_add_on(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        payload = one_add_on_payload(ctx.session, service.delete_add_on(ctx, code))
    return one(ROOT, payload)
