"""Every router mounted under ``/api/v1``. Add a domain's router here."""

from __future__ import annotations

from fastapi import APIRouter

from billow.billing.api import router as invoices
from billow.customers.api import router as customers
from billow.metering.api import router as billable_metrics
from billow.metering.events.api import router as events
from billow.organizations.api import router as organizations
from billow.pricing.add_ons.api import router as add_ons
from billow.pricing.coupons.api import router as coupons
from billow.pricing.plans.api import router as plans
from billow.pricing.pricing_units.api import router as pricing_units
from billow.pricing.taxes.api import router as taxes
from billow.subscriptions.api import router as subscriptions
from billow.testclock.api import router as testclock
from billow.webhooks.api import router as webhooks


def api_routers() -> list[APIRouter]:
    return [
        organizations,
        webhooks,
        testclock,
        customers,
        billable_metrics,
        events,
        taxes,
        add_ons,
        coupons,
        plans,
        pricing_units,
        subscriptions,
        invoices,
    ]
