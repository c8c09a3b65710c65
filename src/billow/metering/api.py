"""``/billable_metrics``: CRUD by code and ``evaluate_expression``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from billow.api.body import parse_json, root_model, validate
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.metering import service
from billow.metering.events.api import invalidate_metric_cache
from billow.metering.schemas import BillableMetricInput, EvaluateExpressionInput
from billow.metering.serializers import billable_metric_payload, billable_metrics_payload

router = APIRouter(tags=["billable_metrics"])
ROOT = "billable_metric"


def _written(request: Request, org_id: uuid.UUID, payload: dict[str, object]) -> JsonResponse:
    """After a committed metric write: ingestion must see the change on the next event."""
    invalidate_metric_cache(request, org_id)
    return one(ROOT, payload)


@router.post("/billable_metrics")
def create_metric(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, BillableMetricInput)
    with unit_of_work(request, org_id) as ctx:
        metric = service.create_metric(ctx, data)
        payload = billable_metric_payload(ctx.session, metric, counters=True)
    return _written(request, org_id, payload)


@router.get("/billable_metrics")
def list_metrics(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        items, total = service.list_metrics(ctx, page)
        payload = billable_metrics_payload(ctx.session, items)
    return many("billable_metrics", payload, page, total)


@router.post("/billable_metrics/evaluate_expression")
def evaluate_expression(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = parse_json(body)
    parsed = validate(EvaluateExpressionInput, data if isinstance(data, dict) else {})
    with unit_of_work(request, org_id) as ctx:
        value = service.evaluate_expression(ctx, parsed)
    return one("expression_result", {"value": value})


@router.get("/billable_metrics/{code}")
def get_metric(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one(ROOT, billable_metric_payload(ctx.session, service.get_metric(ctx, code)))


@router.put("/billable_metrics/{code}")
def update_metric(request: Request, org_id: OrgId, code: str, body: RawBody) -> JsonResponse:
    data = root_model(body, ROOT, BillableMetricInput)
    with unit_of_work(request, org_id) as ctx:
        metric = service.update_metric(ctx, code, data)
        payload = billable_metric_payload(ctx.session, metric, counters=True)
    return _written(request, org_id, payload)


@router.delete("/billable_metrics/{code}")
def delete_metric(request: Request, org_id: OrgId, code: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        metric = service.delete_metric(ctx, code)
        payload = billable_metric_payload(ctx.session, metric, counters=True)
    return _written(request, org_id, payload)
