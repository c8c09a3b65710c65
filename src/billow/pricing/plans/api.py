"""``/plans``: CRUD by code; ``/plans/{code}/metadata``, ``/plans/{code}/charges`` (and their
``filters``) and ``/plans/{code}/fixed_charges``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billow.api.body import parse_json, require_root, root_model
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.core.errors import ValidationFailed
from billow.db.context import Ctx
from billow.pricing.plans import service
from billow.pricing.plans import subresources as parts
from billow.pricing.plans.models import Charge, FixedCharge, Plan
from billow.pricing.plans.schemas import PlanInput
from billow.pricing.plans.serializers import (
    INDEX_INCLUDES,
    charge_payload,
    filter_payload,
    fixed_charge_payload,
    plan_payload,
    plans_payload,
)
from billow.pricing.plans.service import get_plan_by_code
from billow.pricing.plans.views import charge_views, fixed_charge_views

router = APIRouter(tags=["plans"])
ROOT = "plan"


@router.post("/plans")
def create_plan(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, PlanInput)
    with unit_of_work(request, org_id) as ctx:
        payload = plan_payload(ctx.session, service.create_plan(ctx, data))
    return one(ROOT, payload)


@router.get("/plans")
def list_plans(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        items, total = service.list_plans(ctx, page)
        payload = plans_payload(ctx.session, items, INDEX_INCLUDES)
    return many("plans", payload, page, total)


@router.get("/plans/{code}")
def get_plan(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one(ROOT, plan_payload(ctx.session, service.get_plan_by_code(ctx, code)))


@router.put("/plans/{code}")
def update_plan(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, PlanInput)
    with unit_of_work(request, org_id) as ctx:
        payload = plan_payload(ctx.session, service.update_plan(ctx, code, data))
    return one(ROOT, payload)


@router.delete("/plans/{code}")
def delete_plan(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        payload = plan_payload(ctx.session, service.delete_plan(ctx, code))
    return one(ROOT, payload)


# --------------------------------------------------------------------------- metadata


def _metadata(plan: Plan) -> JsonResponse:
    return JsonResponse({"metadata": plan.item_metadata})


def _metadata_param(body: bytes) -> Any:
    data = parse_json(body)
    return data.get("metadata", ...) if isinstance(data, dict) else ...


def _write(request: Request, org_id: Any, code: str, body: bytes, *, partial: bool) -> JsonResponse:
    raw = _metadata_param(body)
    with unit_of_work(request, org_id) as ctx:
        if raw is ...:
            plan = service.get_plan_by_code(ctx, code)
        else:
            plan = service.write_plan_metadata(ctx, code, raw, partial=partial)
        return _metadata(plan)


@router.post("/plans/{code}/metadata")
def replace_metadata(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    return _write(request, org_id, code, body, partial=False)


@router.patch("/plans/{code}/metadata")
def merge_metadata(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    return _write(request, org_id, code, body, partial=True)


@router.put("/plans/{code}/metadata", include_in_schema=False)
def merge_metadata_put(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    """Rails routes ``PUT`` of a singular resource like ``PATCH``."""
    return _write(request, org_id, code, body, partial=True)


@router.delete("/plans/{code}/metadata")
def delete_metadata(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _metadata(service.write_plan_metadata(ctx, code, None, partial=False, clear=True))


@router.delete("/plans/{code}/metadata/{key}")
def delete_metadata_key(request: Request, org_id: OrgId, code: str, key: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _metadata(service.delete_plan_metadata_key(ctx, code, key))


# --------------------------------------------------------------------------- parts


def _root(body: bytes, root: str) -> dict[str, Any]:
    value = require_root(parse_json(body), root)
    if not isinstance(value, dict):
        raise ValidationFailed({"base": ["invalid_type"]})
    return dict(value)


def _optional_root(body: bytes, root: str) -> dict[str, Any] | None:
    return parts.root_object(parse_json(body), root)


def _charges(ctx: Ctx, charges: list[Charge]) -> list[dict[str, Any]]:
    return [charge_payload(ctx.session, v) for v in charge_views(ctx.session, charges)]


def _fixed(ctx: Ctx, fixed: list[FixedCharge]) -> list[dict[str, Any]]:
    return [fixed_charge_payload(ctx.session, v) for v in fixed_charge_views(ctx.session, fixed)]


# --------------------------------------------------------------------------- charges


@router.get("/plans/{code}/charges")
def list_charges(request: Request, org_id: OrgId, code: str, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        items, total = parts.list_charges(ctx, get_plan_by_code(ctx, code), page)
        payload = _charges(ctx, items)
    return many("charges", payload, page, total)


@router.post("/plans/{code}/charges")
def create_charge(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    raw = _root(body, "charge")
    with unit_of_work(request, org_id) as ctx:
        payload = _charges(ctx, [parts.add_charge(ctx, code, raw)])[0]
    return one("charge", payload)


@router.get("/plans/{code}/charges/{charge_code}")
def get_charge(request: Request, org_id: OrgId, code: str, charge_code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        charge = parts.get_charge(ctx, get_plan_by_code(ctx, code), charge_code)
        return one("charge", _charges(ctx, [charge])[0])


@router.put("/plans/{code}/charges/{charge_code}")
def update_charge(
    request: Request, org_id: OrgId, code: str, charge_code: str, body: RawBody
) -> JsonResponse:
    raw = _root(body, "charge")
    with unit_of_work(request, org_id) as ctx:
        payload = _charges(ctx, [parts.change_charge(ctx, code, charge_code, raw)])[0]
    return one("charge", payload)


@router.delete("/plans/{code}/charges/{charge_code}")
def delete_charge(
    request: Request, org_id: OrgId, code: str, charge_code: str, body: RawBody
) -> JsonResponse:
    raw = _optional_root(body, "charge")
    with unit_of_work(request, org_id) as ctx:
        payload = _charges(ctx, [parts.remove_charge(ctx, code, charge_code, raw)])[0]
    return one("charge", payload)


# --------------------------------------------------------------------------- charge filters


@router.get("/plans/{code}/charges/{charge_code}/filters")
def list_filters(request: Request, org_id: OrgId, code: str, charge_code: str, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        charge, _ = parts.charge_of(ctx, code, charge_code)
        items, total = parts.list_filters(ctx, charge, page)
        payload = [filter_payload(charge.code, f) for f in items]
    return many("filters", payload, page, total)


@router.post("/plans/{code}/charges/{charge_code}/filters")
def create_filter(
    request: Request, org_id: OrgId, code: str, charge_code: str, body: RawBody
) -> JsonResponse:
    raw = _root(body, "filter")
    with unit_of_work(request, org_id) as ctx:
        charge, row = parts.add_filter(ctx, code, charge_code, raw)
        payload = filter_payload(charge.code, row)
    return one("filter", payload)


@router.get("/plans/{code}/charges/{charge_code}/filters/{filter_id}")
def get_filter(request: Request, org_id: OrgId, code: str, charge_code: str, filter_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        charge, _ = parts.charge_of(ctx, code, charge_code)
        return one("filter", filter_payload(charge.code, parts.get_filter(ctx, charge, filter_id)))


@router.put("/plans/{code}/charges/{charge_code}/filters/{filter_id}")
def update_filter(
    request: Request, org_id: OrgId, code: str, charge_code: str, filter_id: str, body: RawBody
) -> JsonResponse:
    raw = _root(body, "filter")
    with unit_of_work(request, org_id) as ctx:
        charge, row = parts.change_filter(ctx, code, charge_code, filter_id, raw)
        payload = filter_payload(charge.code, row)
    return one("filter", payload)


@router.delete("/plans/{code}/charges/{charge_code}/filters/{filter_id}")
def delete_filter(
    request: Request, org_id: OrgId, code: str, charge_code: str, filter_id: str
) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        charge, row = parts.remove_filter(ctx, code, charge_code, filter_id)
        payload = filter_payload(charge.code, row)
    return one("filter", payload)


# --------------------------------------------------------------------------- fixed charges


@router.get("/plans/{code}/fixed_charges")
def list_fixed_charges(request: Request, org_id: OrgId, code: str, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        items, total = parts.list_fixed_charges(ctx, get_plan_by_code(ctx, code), page)
        payload = _fixed(ctx, items)
    return many("fixed_charges", payload, page, total)


@router.post("/plans/{code}/fixed_charges")
def create_fixed_charge(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    raw = _root(body, "fixed_charge")
    with unit_of_work(request, org_id) as ctx:
        payload = _fixed(ctx, [parts.add_fixed_charge(ctx, code, raw)])[0]
    return one("fixed_charge", payload)


@router.get("/plans/{code}/fixed_charges/{fixed_charge_code}")
def get_fixed_charge(request: Request, org_id: OrgId, code: str, fixed_charge_code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        fixed = parts.get_fixed_charge(ctx, get_plan_by_code(ctx, code), fixed_charge_code)
        return one("fixed_charge", _fixed(ctx, [fixed])[0])


@router.put("/plans/{code}/fixed_charges/{fixed_charge_code}")
def update_fixed_charge(
    request: Request, org_id: OrgId, code: str, fixed_charge_code: str, body: RawBody
) -> JsonResponse:
    raw = _root(body, "fixed_charge")
    with unit_of_work(request, org_id) as ctx:
        payload = _fixed(ctx, [parts.change_fixed_charge(ctx, code, fixed_charge_code, raw)])[0]
    return one("fixed_charge", payload)


@router.delete("/plans/{code}/fixed_charges/{fixed_charge_code}")
def delete_fixed_charge(
    request: Request, org_id: OrgId, code: str, fixed_charge_code: str, body: RawBody
) -> JsonResponse:
    raw = _optional_root(body, "fixed_charge")
    with unit_of_work(request, org_id) as ctx:
        payload = _fixed(ctx, [parts.remove_fixed_charge(ctx, code, fixed_charge_code, raw)])[0]
    return one("fixed_charge", payload)
