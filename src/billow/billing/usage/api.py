"""Usage routes: ``/customers/{id}/current_usage``, ``/projected_usage``, ``/past_usage`` and
``/subscriptions/{external_id}/lifetime_usage`` (metering.md §4, §5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billow.api.body import parse_json, require_root
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, one
from billow.billing.progressive.completion import lifetime_usage_payload
from billow.billing.progressive.lifetime import refresh_lifetime_usage
from billow.billing.usage.current import current_usage, usage_payload
from billow.billing.usage.narrowing import UsageNarrowing, cast_bool, parse_narrowing
from billow.billing.usage.past import past_usage
from billow.billing.usage.projected import projected_payload
from billow.core.errors import BadRequest, ValidationFailed
from billow.subscriptions.queries import get_subscription

router = APIRouter(tags=["usage"])


def _apply_taxes(request: Request) -> bool:
    return bool(cast_bool(request.query_params.get("apply_taxes"), True))


@router.get("/customers/{external_customer_id}/current_usage")
def get_current_usage(request: Request, org_id: OrgId, external_customer_id: str) -> JsonResponse:
    narrowing = parse_narrowing(request.query_params.multi_items())
    with unit_of_work(request, org_id) as ctx:
        usage = current_usage(
            ctx,
            external_customer_id,
            request.query_params.get("external_subscription_id"),
            narrowing=narrowing,
            apply_taxes=_apply_taxes(request),
        )
        payload = usage_payload(usage)
    return one("customer_usage", payload)


@router.get("/customers/{external_customer_id}/projected_usage")
def get_projected_usage(request: Request, org_id: OrgId, external_customer_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        usage = current_usage(
            ctx,
            external_customer_id,
            request.query_params.get("external_subscription_id"),
            narrowing=UsageNarrowing(),
            apply_taxes=_apply_taxes(request),
        )
        payload = projected_payload(usage, ctx.now())
    return one("customer_projected_usage", payload)


@router.get("/customers/{external_customer_id}/past_usage")
def get_past_usage(request: Request, org_id: OrgId, page: Page, external_customer_id: str) -> JsonResponse:
    params = request.query_params
    with unit_of_work(request, org_id) as ctx:
        found = past_usage(
            ctx,
            external_customer_id,
            params.get("external_subscription_id"),
            billable_metric_code=params.get("billable_metric_code"),
            periods_count=params.get("periods_count"),
            page=page,
        )
    return JsonResponse({"usage_periods": found.periods, "meta": found.meta})


def _status(request: Request) -> str | None:
    params = request.query_params
    return params.get("subscription_status") or params.get("status") or None


@router.get("/subscriptions/{external_id}/lifetime_usage")
def get_lifetime_usage(request: Request, org_id: OrgId, external_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        subscription = get_subscription(ctx, external_id, _status(request))
        row = refresh_lifetime_usage(ctx, subscription)
        payload = lifetime_usage_payload(ctx, row, subscription)
    return one("lifetime_usage", payload)


def _historical(data: Any) -> int:
    if not isinstance(data, dict):
        raise BadRequest.missing_param("lifetime_usage")
    value = data.get("external_historical_usage_amount_cents")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field("historical_usage_amount_cents", "value_is_invalid")
    if value < 0:
        raise ValidationFailed.field("historical_usage_amount_cents", "value_is_out_of_range")
    return value


@router.put("/subscriptions/{external_id}/lifetime_usage")
def update_lifetime_usage(request: Request, org_id: OrgId, external_id: str, body: RawBody) -> JsonResponse:
    data = require_root(parse_json(body), "lifetime_usage")
    with unit_of_work(request, org_id) as ctx:
        subscription = get_subscription(ctx, external_id, _status(request))
        historical = _historical(data)
        row = refresh_lifetime_usage(ctx, subscription)
        row.historical_usage_amount_cents = historical
        row.updated_at = ctx.now()
        ctx.session.flush()
        payload = lifetime_usage_payload(ctx, row, subscription)
    return one("lifetime_usage", payload)
