"""``POST /events/estimate_fees``, ``/events/estimate_instant_fees`` and
``/events/batch_estimate_instant_fees`` (billing's routes under metering's ``/events`` paths).

Nothing they compute is stored (see :mod:`billow.billing.advance.estimate`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billow.api.body import parse_json, require_root
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.responses import JsonResponse
from billow.billing.advance import estimate
from billow.billing.fees.engine import build_fee_engine
from billow.core.errors import BadRequest
from billow.metering.store import SqlEventStore

router = APIRouter(tags=["events"])


def _event(body: bytes) -> dict[str, Any]:
    data = require_root(parse_json(body), "event")
    if not isinstance(data, dict):
        raise BadRequest.missing_param("event")
    return data


@router.post("/events/estimate_fees")
def estimate_fees(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    """Preview the pay-in-advance fees an event would create, with taxes (nothing is stored)."""
    data = _event(body)
    with unit_of_work(request, org_id) as ctx:
        fees = estimate.estimate_fees(ctx, build_fee_engine(), SqlEventStore(), data)
    return JsonResponse({"fees": fees})


@router.post("/events/estimate_instant_fees")
def estimate_instant_fees(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    """Cheap estimate for pay-in-advance standard and percentage charges."""
    data = _event(body)
    with unit_of_work(request, org_id) as ctx:
        fees = estimate.estimate_instant_fees(ctx, data)
    return JsonResponse({"fees": fees})


@router.post("/events/batch_estimate_instant_fees")
def batch_estimate_instant_fees(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    """The cheap estimate for several events, grouped by subscription."""
    events = require_root(parse_json(body), "events")
    if not isinstance(events, list):
        raise BadRequest.missing_param("events")
    with unit_of_work(request, org_id) as ctx:
        fees = estimate.batch_estimate_instant_fees(ctx, events)
    return JsonResponse({"fees": fees})
