"""``/coupons`` (CRUD by code) and applied coupons (``/applied_coupons``,
``/customers/{external_customer_id}/applied_coupons``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billow.api.body import root_model
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.db.context import Ctx
from billow.pricing.coupons import applied, service
from billow.pricing.coupons.applied import AppliedCouponFilters, AppliedCouponView
from billow.pricing.coupons.hooks import coupon_usage
from billow.pricing.coupons.schemas import AppliedCouponInput, CouponInput
from billow.pricing.coupons.serializers import (
    applied_coupon_payload,
    coupons_payload,
    one_coupon_payload,
)

router = APIRouter(tags=["coupons"])
ROOT = "coupon"
APPLIED_ROOT = "applied_coupon"


@router.post("/coupons")
def create_coupon(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, CouponInput)
    with unit_of_work(request, org_id) as ctx:
        payload = one_coupon_payload(ctx.session, service.create_coupon(ctx, data))
    return one(ROOT, payload)


@router.get("/coupons")
def list_coupons(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        items, total = service.list_coupons(ctx, page)
        payload = coupons_payload(ctx.session, items)
    return many("coupons", payload, page, total)


@router.get("/coupons/{code}")
def get_coupon(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one(ROOT, one_coupon_payload(ctx.session, service.get_coupon(ctx, code)))


@router.put("/coupons/{code}")
def update_coupon(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, CouponInput)
    with unit_of_work(request, org_id) as ctx:
        payload = one_coupon_payload(ctx.session, service.update_coupon(ctx, code, data))
    return one(ROOT, payload)


@router.delete("/coupons/{code}")
def delete_coupon(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        payload = one_coupon_payload(ctx.session, service.delete_coupon(ctx, code))
    return one(ROOT, payload)


@router.post("/applied_coupons")
def apply_coupon(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, APPLIED_ROOT, AppliedCouponInput)
    with unit_of_work(request, org_id) as ctx:
        view = applied.apply_coupon(ctx, data)
        payload = applied_coupon_payload(view, coupon_usage(ctx, [view.applied.id])[view.applied.id])
    return one(APPLIED_ROOT, payload)


def _filters(request: Request, external_customer_id: str | None) -> AppliedCouponFilters:
    q = request.query_params
    return AppliedCouponFilters(
        external_customer_id=external_customer_id,
        status=q.get("status"),
        coupon_codes=q.getlist("coupon_code[]"),
    )


def _with_credits(ctx: Ctx, views: list[AppliedCouponView]) -> list[dict[str, Any]]:
    usage = coupon_usage(ctx, [v.applied.id for v in views])
    return [applied_coupon_payload(v, usage[v.applied.id], with_credits=True) for v in views]


@router.get("/applied_coupons")
def list_applied_coupons(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    filters = _filters(request, request.query_params.get("external_customer_id"))
    with unit_of_work(request, org_id) as ctx:
        items, total = applied.list_applied_coupons(ctx, page, filters)
        payload = _with_credits(ctx, items)
    return many("applied_coupons", payload, page, total)


@router.get("/customers/{external_customer_id}/applied_coupons")
def list_customer_applied_coupons(
    request: Request, org_id: OrgId, page: Page, external_customer_id: str
) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        external_id = applied.get_customer_external_id(ctx, external_customer_id)
        items, total = applied.list_applied_coupons(ctx, page, _filters(request, external_id))
        payload = _with_credits(ctx, items)
    return many("applied_coupons", payload, page, total)


@router.delete("/customers/{external_customer_id}/applied_coupons/{applied_coupon_id}")
def terminate_applied_coupon(
    request: Request, org_id: OrgId, external_customer_id: str, applied_coupon_id: str
) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        view = applied.terminate_applied_coupon(ctx, external_customer_id, applied_coupon_id)
        payload = applied_coupon_payload(view, coupon_usage(ctx, [view.applied.id])[view.applied.id])
    return one(APPLIED_ROOT, payload)
