"""``POST /subscriptions`` (Lago's ``Subscriptions::CreateService``, billing.md §2.2).

Order of the checks (each refusal stores nothing and queues nothing): billing entity (404),
plan (404 ``plan_not_found``), ``subscription_at`` / ``ending_at`` (422 ``invalid_date``),
``external_customer_id`` (422), ``external_id`` / ``billing_time``, then — with the customer
created through the customers service when it does not exist yet — its currency (422
``currencies_does_not_match``) and the external id (422 ``value_already_exist`` when another
customer's subscription holds it). Then: the customer's editable subscription with this external
id is changed (:mod:`.plan_change`), returned unchanged (same plan), or a new one starts today,
in the past, or in the future (``pending``), comparing dates in the customer's timezone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billow.core.errors import ErrorCollector, NotFound, ValidationFailed
from billow.core.ids import parse_uuid
from billow.customers.billing_entities import billing_entities_by_id, resolve_billing_entity
from billow.customers.models import Customer
from billow.customers.schemas import CustomerInput
from billow.customers.service import assign_currency, find_customer, upsert_customer
from billow.db.context import Ctx
from billow.organizations.models import BillingEntity
from billow.pricing.plans.lookup import find_plan_by_code
from billow.pricing.plans.models import Plan
from billow.pricing.plans.overrides import clone_plan_with_overrides
from billow.subscriptions import validation
from billow.subscriptions.activation import activate, activate_backdated
from billow.subscriptions.facts import customer_timezone, plan_of
from billow.subscriptions.lifecycle import flush
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import is_upgrade, local_date
from billow.subscriptions.periods.kinds import check_interval
from billow.subscriptions.plan_change import KEEP, PlanChangeRequest, change_plan
from billow.subscriptions.repository import (
    PENDING,
    active_external_id_taken,
    editable_subscription,
    last_invoiced_termination,
)
from billow.subscriptions.schemas import SubscriptionCreateInput


def explicit_entity(ctx: Ctx, entity_id: str | None, code: str | None) -> BillingEntity | None:
    """The billing entity a subscription names (``billing_entity_id`` first, then
    ``billing_entity_code``); ``None`` when it names none. 404 ``billing_entity_not_found``."""
    if entity_id is not None and entity_id.strip():
        parsed = parse_uuid(entity_id.strip())
        found = billing_entities_by_id(ctx.session, ctx.org_id, {parsed}) if parsed is not None else {}
        if parsed is None or parsed not in found:
            raise NotFound("billing_entity")
        return found[parsed]
    if code is None or not code.strip():
        return None
    return resolve_billing_entity(ctx, code)


def _start(data: SubscriptionCreateInput, now: datetime, errors: ErrorCollector) -> datetime | None:
    """``subscription_at`` defaults to now; anything sent must be an ISO-8601 instant."""
    if data.subscription_at is None:
        return now
    value = validation.instant(data.subscription_at)
    if value is None or isinstance(value, validation.Invalid):
        errors.add("subscription_at", validation.INVALID_DATE)
        return None
    return value


def _overrides(data: SubscriptionCreateInput) -> dict[str, Any] | None:
    if "plan_overrides" not in data.model_fields_set:
        return None
    return dict(data.plan_overrides or {})


def _target_price(plan: Plan, overrides: dict[str, Any] | None) -> tuple[int, str]:
    """Amount and currency the subscription will have (overrides apply before any comparison)."""
    amount, currency = plan.amount_cents, plan.amount_currency
    if overrides:
        raw_amount, raw_currency = overrides.get("amount_cents"), overrides.get("amount_currency")
        if isinstance(raw_amount, int) and not isinstance(raw_amount, bool):
            amount = raw_amount
        elif isinstance(raw_amount, str) and raw_amount.strip().isdigit():
            amount = int(raw_amount)
        if isinstance(raw_currency, str) and raw_currency:
            currency = raw_currency
    return amount, currency


def _customer(ctx: Ctx, external_id: str, entity: BillingEntity) -> Customer:
    """The customer, created (``customer.created``) on its billing entity when missing."""
    customer = find_customer(ctx, external_id, for_update=True)
    if customer is not None:
        return customer
    data = CustomerInput(external_id=external_id, billing_entity_code=entity.code)
    return upsert_customer(ctx, data).customer


def create_subscription(ctx: Ctx, data: SubscriptionCreateInput) -> Subscription:
    """Create, change or return the subscription; returns what the API answers with."""
    now = ctx.now()
    named_entity = explicit_entity(ctx, data.billing_entity_id, data.billing_entity_code)
    plan = find_plan_by_code(ctx, data.plan_code) if data.plan_code else None
    if plan is None:
        raise NotFound("plan")
    errors = ErrorCollector()
    starts_at = _start(data, now, errors)
    ending_at = validation.ending_at(data.ending_at, starts_at, now, errors)
    errors.raise_if_any()
    assert starts_at is not None
    customer_external_id = validation.text(data.external_customer_id)
    if not customer_external_id:
        raise ValidationFailed.field("external_customer_id", "value_is_mandatory")
    external_id = validation.text(data.external_id)
    billing_time = validation.billing_time(data.billing_time, errors)
    if not external_id:
        errors.add("external_id", "value_is_mandatory")
    errors.raise_if_any()

    overrides = _overrides(data)
    amount, currency = _target_price(plan, overrides)
    entity = named_entity or resolve_billing_entity(ctx, None)
    customer = _customer(ctx, customer_external_id, entity)
    assign_currency(ctx, customer, currency)

    current = editable_subscription(ctx, customer.id, external_id)
    if current is None:
        if active_external_id_taken(ctx, external_id):
            raise ValidationFailed.field("external_id", "value_already_exist")
        return _new_subscription(
            ctx,
            data,
            customer,
            plan,
            overrides,
            named_entity,
            external_id,
            billing_time,
            starts_at,
            ending_at,
        )
    if plan.id == current.plan_id:
        return current
    sent = data.model_fields_set
    request = PlanChangeRequest(
        plan=plan,
        overrides=overrides,
        name=validation.text(data.name),
        ending_at=ending_at if "ending_at" in sent else KEEP,
        consolidate_invoice=(
            validation.boolean(data.consolidate_invoice, True) if "consolidate_invoice" in sent else KEEP
        ),
        purchase_order_number=(
            _purchase_order(data.purchase_order_number) if "purchase_order_number" in sent else KEEP
        ),
        billing_entity_id=named_entity.id if named_entity is not None else None,
        progressive_billing_disabled=validation.boolean(data.progressive_billing_disabled, False),
    )
    current_plan = plan_of(ctx.session, current)
    upgrading = is_upgrade(
        current_plan.amount_cents,
        check_interval(current_plan.interval),
        amount,
        check_interval(plan.interval),
    )
    return change_plan(ctx, current, request, is_upgrade=upgrading)


def _purchase_order(raw: str | None) -> str | None:
    value = validation.text(raw)
    return value or None


def _new_subscription(
    ctx: Ctx,
    data: SubscriptionCreateInput,
    customer: Customer,
    plan: Plan,
    overrides: dict[str, Any] | None,
    entity: BillingEntity | None,
    external_id: str,
    billing_time: str,
    starts_at: datetime,
    ending_at: datetime | None,
) -> Subscription:
    now = ctx.now()
    target = plan if overrides is None else clone_plan_with_overrides(ctx, plan, overrides)
    subscription = Subscription(
        organization_id=ctx.org_id,
        customer_id=customer.id,
        plan_id=target.id,
        billing_entity_id=entity.id if entity is not None else None,
        external_id=external_id,
        name=validation.text(data.name),
        status=PENDING,
        billing_time=billing_time,
        subscription_at=starts_at,
        ending_at=ending_at,
        on_termination_invoice="generate",
        consolidate_invoice=validation.boolean(data.consolidate_invoice, True),
        progressive_billing_disabled=validation.boolean(data.progressive_billing_disabled, False),
        purchase_order_number=_purchase_order(data.purchase_order_number),
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(subscription)
    flush(ctx)
    tz = customer_timezone(ctx.session, customer)
    start_day, today = local_date(starts_at, tz), local_date(now, tz)
    if start_day == today:
        activate(ctx, subscription, target, starts_at)
    elif start_day < today:
        invoiced_until = last_invoiced_termination(ctx, customer.id, external_id)
        started_at = max(starts_at, invoiced_until) if invoiced_until is not None else starts_at
        activate_backdated(ctx, subscription, started_at)
    return subscription
