"""Current usage (metering.md §4.1; Lago's ``Invoices::CustomerUsageService``).

Every charge of the subscription's plan (pay-in-advance and non-invoiceable ones included) is
priced over the current usage period by :func:`billow.billing.fees.compute.current_usage_charge_fees`
— the code the invoices run — with zero fees kept and no true-up; fixed charges and the
subscription fee are not usage. Taxes are the invoice's (``billing.math``: one rounding of
Σ taxes Σ fees) unless ``apply_taxes=false``.

Errors, in Lago's order: 404 ``customer_not_found``; 405 ``no_active_subscription`` (no active
subscription of the customer with that external id); 405 ``full_usage_not_allowed`` (``full_usage``
needs a charge or group narrowing and no prorated charge among the selected ones — Billow has no
premium gating, so that is the only condition); 404 ``charge_not_found`` (a charge narrowing
matched nothing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billow.billing.boundaries import Boundaries
from billow.billing.fees.compute import current_usage_charge_fees
from billow.billing.fees.drafts import FeeDraft
from billow.billing.fees.engine import FeeEngine, build_fee_engine
from billow.billing.math import FeeLine, InvoiceInput, compute_invoice
from billow.billing.usage.narrowing import NarrowedUsage, UsageNarrowing
from billow.billing.usage.serializers import Catalog, ChargesUsage
from billow.core.errors import MethodNotAllowed, NotFound
from billow.core.timefmt import iso_date, iso_z
from billow.customers.models import Customer
from billow.customers.service import get_customer
from billow.db.context import Ctx
from billow.organizations.models import BillingEntity
from billow.pricing.plans.lookup import charges_for_plan
from billow.pricing.plans.models import Plan
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.facts import timezone_of
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import local_date


@dataclass(frozen=True)
class CustomerUsage:
    """The current usage of one subscription (not persisted)."""

    subscription: Subscription
    customer: Customer
    timezone: str
    bounds: Boundaries
    issuing_date: date
    currency: str
    fees: list[FeeDraft]
    views: list[ChargeView]
    amount_cents: int
    taxes_amount_cents: int

    @property
    def total_amount_cents(self) -> int:
        return self.amount_cents + self.taxes_amount_cents

    def catalog(self) -> Catalog:
        return catalog_of(self.views)


def catalog_of(views: list[ChargeView]) -> Catalog:
    return Catalog(
        charges={v.charge.id: v.charge for v in views},
        metrics={v.metric.id: v.metric for v in views},
        filters={f.id: f for v in views for f in v.filters},
        filtered=frozenset(v.charge.id for v in views if v.filters),
    )


def active_subscription(ctx: Ctx, customer: Customer, external_id: str | None) -> Subscription:
    """The customer's active subscription with this external id (405 ``no_active_subscription``)."""
    found = (
        ctx.session.scalar(
            select(Subscription).where(
                Subscription.organization_id == ctx.org_id,
                Subscription.customer_id == customer.id,
                Subscription.external_id == external_id,
                Subscription.status == "active",
            )
        )
        if external_id
        else None
    )
    if found is None:
        raise MethodNotAllowed("no_active_subscription")
    return found


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def narrowed_views(views: list[ChargeView], narrowing: UsageNarrowing) -> list[ChargeView]:
    """Lago: ``charge_id`` wins over ``charge_code``, which wins over ``billable_metric_code``."""
    if narrowing.charge_id:
        wanted = _uuid(narrowing.charge_id)
        return [v for v in views if v.charge.id == wanted]
    if narrowing.charge_code:
        return [v for v in views if v.charge.code == narrowing.charge_code]
    if narrowing.metric_code:
        return [v for v in views if v.metric.code == narrowing.metric_code]
    return views


def _timezone(ctx: Ctx, customer: Customer) -> str:
    entity = ctx.session.get(BillingEntity, customer.billing_entity_id)
    assert entity is not None
    return timezone_of(customer, entity)


def usage_taxes_amount_cents(fees: list[FeeDraft], currency: str) -> int:
    """The invoice's tax rule over the usage fees (one rounding of the unrounded sum)."""
    lines = tuple(
        FeeLine(
            id=str(index),
            fee_type="charge",
            amount_cents=fee.amount_cents,
            precise_amount_cents=Decimal(fee.precise_amount_cents),
            taxes=fee.taxes,
        )
        for index, fee in enumerate(fees)
    )
    totals = compute_invoice(InvoiceInput(kind="one_off", currency=currency, fees=lines, finalizing=False))
    return totals.taxes_amount_cents


def _sorted_by_metric(fees: list[FeeDraft], views: list[ChargeView]) -> list[FeeDraft]:
    names = {v.charge.id: v.metric.name.lower() for v in views}
    return sorted(fees, key=lambda f: names.get(f.charge_id, "") if f.charge_id else "")


def compute_usage(
    ctx: Ctx,
    customer: Customer,
    subscription: Subscription,
    *,
    narrowing: UsageNarrowing | None = None,
    apply_taxes: bool = True,
    engine: FeeEngine | None = None,
    at: datetime | None = None,
) -> CustomerUsage:
    """The usage of ``subscription`` at ``at`` (default now), narrowed and taxed as asked."""
    narrowing = narrowing or UsageNarrowing()
    views = charges_for_plan(ctx, subscription.plan_id)
    selected = narrowed_views(views, narrowing)
    if narrowing.full_usage:
        allowed = (narrowing.has_charge_filter or bool(narrowing.group)) and not any(
            v.charge.prorated for v in selected
        )
        if not allowed:
            raise MethodNotAllowed("full_usage_not_allowed")
    if narrowing.has_charge_filter and not selected:
        raise NotFound("charge")
    if engine is None:
        engine = (
            build_fee_engine(NarrowedUsage(narrowing))
            if narrowing.changes_aggregation
            else build_fee_engine()
        )
    bounds, fees = current_usage_charge_fees(
        ctx,
        engine,
        subscription,
        at or ctx.now(),
        charge_ids={v.charge.id for v in selected} if narrowing.has_charge_filter else None,
        full_usage=narrowing.full_usage,
        views=views,
    )
    if not narrowing.has_charge_filter:
        fees = _sorted_by_metric(fees, views)
    timezone = _timezone(ctx, customer)
    currency = fees[0].amount_currency if fees else _plan_currency(ctx, subscription)
    amount = sum(f.amount_cents for f in fees)
    taxes = usage_taxes_amount_cents(fees, currency) if apply_taxes else 0
    return CustomerUsage(
        subscription=subscription,
        customer=customer,
        timezone=timezone,
        bounds=bounds,
        issuing_date=local_date(bounds.to_datetime, timezone),
        currency=currency,
        fees=fees,
        views=selected,
        amount_cents=amount,
        taxes_amount_cents=taxes,
    )


def _plan_currency(ctx: Ctx, subscription: Subscription) -> str:
    plan = ctx.session.get(Plan, subscription.plan_id)
    assert plan is not None
    return plan.amount_currency


def current_usage(
    ctx: Ctx,
    external_customer_id: str,
    external_subscription_id: str | None,
    *,
    narrowing: UsageNarrowing | None = None,
    apply_taxes: bool = True,
) -> CustomerUsage:
    """``GET /customers/{external_customer_id}/current_usage``."""
    customer = get_customer(ctx, external_customer_id)
    subscription = active_subscription(ctx, customer, external_subscription_id)
    return compute_usage(ctx, customer, subscription, narrowing=narrowing, apply_taxes=apply_taxes)


def usage_payload(usage: CustomerUsage) -> dict[str, Any]:
    """``CustomerUsageObject`` (``from``/``to`` are the usage window, ``to`` the period end)."""
    return {
        "from_datetime": iso_z(usage.bounds.charges_from_datetime),
        "to_datetime": iso_z(usage.bounds.charges_to_datetime),
        "issuing_date": iso_date(usage.issuing_date),
        "currency": usage.currency,
        "amount_cents": usage.amount_cents,
        "total_amount_cents": usage.total_amount_cents,
        "taxes_amount_cents": usage.taxes_amount_cents,
        "lago_invoice_id": None,
        "charges_usage": ChargesUsage(usage.catalog()).payload(usage.fees),
    }
