"""Every router mounted under ``/api/v1``. Add a domain's router here."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request

from billow.api.deps import OrgId
from billow.billing.advance.api import router as event_estimates
from billow.billing.analytics.api import router as analytics
from billow.billing.api import router as invoices
from billow.billing.invoice_actions.api import router as invoice_actions
from billow.billing.preview.api import router as invoice_preview
from billow.billing.usage.api import router as usage
from billow.credit_notes.api import router as credit_notes
from billow.customers.api import router as customers
from billow.metering.api import router as billable_metrics
from billow.metering.events.api import invalidate_metric_cache
from billow.metering.events.api import router as events
from billow.organizations.api import router as organizations
from billow.pricing.add_ons.api import router as add_ons
from billow.pricing.coupons.api import router as coupons
from billow.pricing.plans.api import router as plans
from billow.pricing.pricing_units.api import router as pricing_units
from billow.pricing.taxes.api import router as taxes
from billow.subscriptions.api import router as subscriptions
from billow.testclock.api import router as testclock
from billow.wallets.api import router as wallets
from billow.webhooks.api import router as webhooks


async def _refresh_ingestion_cache(request: Request, org_id: OrgId) -> AsyncIterator[None]:
    """After a plan write: ingestion re-reads which codes have pay-in-advance charges."""
    yield
    if request.method not in ("GET", "HEAD"):
        invalidate_metric_cache(request, org_id)


def _refreshing_ingestion(router: APIRouter) -> APIRouter:
    wrapper = APIRouter(dependencies=[Depends(_refresh_ingestion_cache)])
    wrapper.include_router(router)
    return wrapper


def api_routers() -> list[APIRouter]:
    return [
        organizations,
        webhooks,
        testclock,
        customers,
        billable_metrics,
        event_estimates,
        events,
        taxes,
        add_ons,
        coupons,
        _refreshing_ingestion(plans),
        pricing_units,
        subscriptions,
        invoice_preview,
        invoices,
        invoice_actions,
        analytics,
        usage,
        wallets,
        credit_notes,
    ]
