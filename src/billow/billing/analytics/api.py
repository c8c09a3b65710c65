"""``GET /api/v1/analytics/overdue_balance`` (Lago's ``Analytics::OverdueBalancesController``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from billow.api.deps import OrgId, unit_of_work
from billow.api.responses import JsonResponse
from billow.billing.overdue import overdue_balances, parse_overdue_filters

router = APIRouter(tags=["analytics"])


@router.get("/analytics/overdue_balance")
def overdue_balance(request: Request, org_id: OrgId) -> JsonResponse:
    filters = parse_overdue_filters(dict(request.query_params))
    with unit_of_work(request, org_id) as ctx:
        items = overdue_balances(ctx, filters)
    return JsonResponse({"overdue_balances": items})
