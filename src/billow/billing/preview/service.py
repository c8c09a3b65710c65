"""The preview's steps, run inside the rolled-back transaction (see the package docstring)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from billow.billing.fees.engine import FeeEngine
from billow.billing.invoicing import PERIODIC, STARTING, BillingItem, create_subscription_invoice
from billow.billing.models import Invoice
from billow.billing.parties import parties_for
from billow.billing.preview.schemas import InvoicePreviewInput, PreviewCouponInput
from billow.billing.subjects import BilledSubscription, load_billed_subscription
from billow.core.errors import NotFound, ValidationFailed
from billow.core.ids import new_id
from billow.customers.models import Customer
from billow.customers.schemas import CustomerInput
from billow.customers.service import find_customer, upsert_customer
from billow.db.context import Ctx
from billow.pricing.coupons.applied import apply_coupon
from billow.pricing.coupons.invoicing import lock_invoiceable_coupons
from billow.pricing.coupons.schemas import AppliedCouponInput, CouponInput
from billow.pricing.coupons.service import create_coupon, find_coupon
from billow.subscriptions.create import create_subscription
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import day_start_utc, local_date
from billow.subscriptions.schemas import SubscriptionCreateInput

_PREVIEW_ID_PREFIX = "billow-preview-"


def _customer(ctx: Ctx, data: InvoicePreviewInput) -> tuple[Customer, bool]:
    """The customer named by ``customer.external_id`` (404 when missing), else one built from the
    inline attributes. Returns it and whether it existed."""
    given = data.customer
    assert given is not None
    inline = given.model_dump(exclude_unset=True, exclude={"external_id"})
    if given.external_id is not None:
        existing = find_customer(ctx, given.external_id)
        if existing is None:
            raise NotFound("customer")
        if inline:
            upsert_customer(ctx, CustomerInput.model_validate({"external_id": given.external_id, **inline}))
        return existing, True
    fields = {"external_id": f"{_PREVIEW_ID_PREFIX}{new_id()}", **inline}
    if data.billing_entity_code:
        fields["billing_entity_code"] = data.billing_entity_code
    return upsert_customer(ctx, CustomerInput.model_validate(fields)).customer, False


def _coupon(ctx: Ctx, customer: Customer, given: PreviewCouponInput) -> None:
    code = str(given.code) if given.code not in (None, "") else None
    if code is None:
        raise ValidationFailed.field("coupons", "value_is_mandatory")
    if find_coupon(ctx, code) is None:
        frequency = given.frequency or ("recurring" if given.frequency_duration else "once")
        create_coupon(
            ctx,
            CouponInput(
                name=given.name or code,
                code=code,
                coupon_type=given.coupon_type,
                amount_cents=given.amount_cents,
                amount_currency=given.amount_currency,
                percentage_rate=given.percentage_rate,
                frequency=frequency,
                frequency_duration=given.frequency_duration,
                expiration="no_expiration",
            ),
        )
    apply_coupon(ctx, AppliedCouponInput(external_customer_id=customer.external_id, coupon_code=code))


def _apply_coupons(ctx: Ctx, customer: Customer, coupons: list[PreviewCouponInput] | None) -> None:
    """Lago: the customer's active applied coupons win; the request's are used only without them."""
    if not coupons or lock_invoiceable_coupons(ctx, customer.id):
        return
    for given in coupons:
        _coupon(ctx, customer, given)


def _new_subscription(ctx: Ctx, customer: Customer, data: InvoicePreviewInput) -> Subscription:
    assert data.plan_code is not None
    fields = {
        "external_customer_id": customer.external_id,
        "plan_code": data.plan_code,
        "external_id": f"{_PREVIEW_ID_PREFIX}{new_id()}",
        "billing_time": data.billing_time,
        "subscription_at": data.subscription_at,
        "billing_entity_code": data.billing_entity_code,
    }
    sent = {k: v for k, v in fields.items() if v is not None}
    return create_subscription(ctx, SubscriptionCreateInput.model_validate(sent))


def _existing_subscriptions(ctx: Ctx, customer: Customer, external_ids: list[str]) -> list[Subscription]:
    base = select(Subscription).where(
        Subscription.organization_id == ctx.org_id,
        Subscription.customer_id == customer.id,
        Subscription.external_id.in_(external_ids),
    )
    found = list(ctx.session.scalars(base.order_by(Subscription.created_at, Subscription.id)))
    future = [s for s in found if s.status == "pending" and s.previous_subscription_id is None]
    if len(external_ids) == 1 and len(found) == 1 and future and future[0].subscription_at > ctx.now():
        return future
    return [s for s in found if s.status == "active"]


def evaluation(billed: BilledSubscription, now: datetime, *, new: bool) -> tuple[str, datetime]:
    """When the preview bills ``billed``: a pay-in-advance subscription new to the preview or not
    started yet at its start (its start invoice); otherwise at the first instant after its
    current (or first) period, when the billing-day tick bills that period."""
    sub = billed.subscription
    if (new or sub.status == "pending") and billed.plan.pay_in_advance:
        return STARTING, billed.started_at
    schedule = billed.schedule()
    at = max(now, billed.started_at)
    period = schedule.period_containing(local_date(at, billed.timezone))
    return PERIODIC, day_start_utc(period.end + timedelta(days=1), billed.timezone)


def _subscriptions(
    ctx: Ctx, customer: Customer, existed: bool, data: InvoicePreviewInput
) -> tuple[list[Subscription], bool]:
    """The subscriptions to bill, and whether they are new (created for the preview)."""
    wanted = data.subscriptions
    if wanted is not None and wanted.external_ids:
        if wanted.terminated_at is not None or wanted.plan_code is not None:
            raise ValidationFailed.field("subscriptions", "preview_context_not_supported")
        if not existed:
            raise ValidationFailed.field("customer", "must_be_persisted")
        found = _existing_subscriptions(ctx, customer, wanted.external_ids)
        if not found:
            raise NotFound("subscription")
        return found, False
    if not data.plan_code:
        raise NotFound("plan")
    return [_new_subscription(ctx, customer, data)], True


def preview_invoice(ctx: Ctx, engine: FeeEngine, data: InvoicePreviewInput) -> Invoice:
    """Compute the preview invoice (the caller rolls the transaction back after serializing)."""
    if data.customer is None:
        raise ValidationFailed.field("customer", "value_is_mandatory")
    customer, existed = _customer(ctx, data)
    subscriptions, new = _subscriptions(ctx, customer, existed, data)
    _apply_coupons(ctx, customer, data.coupons)
    parties = parties_for(ctx, customer, subscriptions[0].billing_entity_id)
    billed = [load_billed_subscription(ctx, s, customer, parties.settings_entity) for s in subscriptions]
    if len({b.plan.amount_currency for b in billed}) > 1:
        raise ValidationFailed.field("subscriptions", "currencies_does_not_match")
    if len({s.billing_entity_id for s in subscriptions}) > 1:
        raise ValidationFailed.field("subscriptions", "billing_entities_does_not_match")
    when = [evaluation(b, ctx.now(), new=new) for b in billed]
    timestamps = {timestamp for _, timestamp in when}
    if len(timestamps) > 1:
        raise ValidationFailed.field("subscriptions", "billing_periods_does_not_match")
    items = [BillingItem(s, reason) for s, (reason, _) in zip(subscriptions, when, strict=True)]
    timestamp = timestamps.pop()
    invoice = create_subscription_invoice(ctx, engine, parties, items, timestamp, preview=True)
    if invoice is None:
        raise ValidationFailed.field("subscriptions", "period_already_invoiced")
    invoice.status = "draft"
    return invoice
