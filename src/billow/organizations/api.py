"""``GET/PUT /api/v1/organizations``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billow.api.body import root_model
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.responses import JsonResponse, one
from billow.db.context import Ctx
from billow.organizations import service
from billow.organizations.schemas import OrganizationUpdate
from billow.organizations.serializers import organization_payload
from billow.pricing.taxes.serializers import taxes_payload
from billow.pricing.taxes.service import organization_taxes
from billow.webhooks import service as webhooks

router = APIRouter(tags=["organizations"])


def _payload(ctx: Ctx) -> dict[str, Any]:
    org = service.get_organization(ctx.session, ctx.org_id)
    entity = service.default_billing_entity(ctx.session, ctx.org_id)
    taxes = taxes_payload(ctx.session, organization_taxes(ctx))
    return organization_payload(org, entity, webhooks.endpoint_urls(ctx), taxes)


@router.get("/organizations")
def get_organization(request: Request, org_id: OrgId) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one("organization", _payload(ctx))


@router.put("/organizations")
def update_organization(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = root_model(body, "organization", OrganizationUpdate)
    with unit_of_work(request, org_id) as ctx:
        changes = data.model_dump(include=data.model_fields_set)
        if data.webhook_url:
            webhooks.set_legacy_webhook_url(ctx, data.webhook_url)
        service.update_settings(ctx.session, ctx.org_id, changes, ctx.now())
        payload = _payload(ctx)
    return one("organization", payload)
