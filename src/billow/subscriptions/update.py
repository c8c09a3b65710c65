"""``PUT /subscriptions/{external_id}`` (Lago's ``Subscriptions::UpdateService``).

Changes only what is sent: ``name``, ``ending_at`` (``null`` removes it), ``purchase_order_number``,
``consolidate_invoice``, ``progressive_billing_disabled``, ``billing_entity_code``,
``on_termination_credit_note`` (pay-in-advance plans only; ignored otherwise),
``on_termination_invoice``, ``plan_overrides`` (a new child plan the subscription moves to) and,
while the subscription has not started, ``subscription_at``. Sends ``subscription.updated``; a
pending subscription moved to a future ``subscription_at`` stays pending silently, one moved to
now or the past starts (``subscription.started`` then ``subscription.updated``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from billow.core.errors import ErrorCollector, NotFound
from billow.db.context import Ctx
from billow.pricing.plans.models import Plan
from billow.pricing.plans.overrides import clone_plan_with_overrides
from billow.subscriptions import validation
from billow.subscriptions.billing_jobs import bill_start
from billow.subscriptions.create import explicit_entity
from billow.subscriptions.facts import in_trial, plan_of
from billow.subscriptions.lifecycle import flush, mark_active, notify
from billow.subscriptions.models import Subscription
from billow.subscriptions.repository import ACTIVE, PENDING, of_org
from billow.subscriptions.schemas import SubscriptionUpdateInput


def find_for_update(ctx: Ctx, external_id: str, status: str | None) -> Subscription:
    """The only subscription with this external id; among several, the ``status`` one
    (``pending`` when asked, else the active one). 404 ``subscription_not_found``."""
    base = of_org(ctx).where(Subscription.external_id == external_id)
    count = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    if count > 1:
        base = base.where(Subscription.status == (PENDING if status == PENDING else ACTIVE))
    order = (Subscription.subscription_at.desc(), Subscription.created_at.desc(), Subscription.id.desc())
    subscription = ctx.session.scalar(base.order_by(*order).limit(1).with_for_update())
    if subscription is None:
        raise NotFound("subscription")
    return subscription


def _override_plan(ctx: Ctx, current: Plan, overrides: dict[str, object]) -> Plan:
    """A new child plan: of the plan, or — for a subscription already on a child plan — a copy of
    that child (keeping its earlier overrides) re-attached to the parent plan."""
    child = clone_plan_with_overrides(ctx, current, dict(overrides))
    if current.parent_id is not None:
        child.parent_id = current.parent_id
        ctx.session.flush()
    return child


@dataclass
class _Checked:
    """The sent values that passed Lago's checks (``None`` when not sent or not applicable)."""

    subscription_at: datetime | None = None
    ending_at: datetime | None = None
    credit_note: str | None = None
    credit_note_sent: bool = False
    invoice: str | None = None


def _validate(ctx: Ctx, subscription: Subscription, plan: Plan, data: SubscriptionUpdateInput) -> _Checked:
    sent = data.model_fields_set
    errors = ErrorCollector()
    checked = _Checked()
    starts_at = subscription.subscription_at
    if "subscription_at" in sent:
        parsed = validation.instant(data.subscription_at)
        if parsed is None or isinstance(parsed, validation.Invalid):
            errors.add("subscription_at", validation.INVALID_DATE)
        else:
            starts_at = checked.subscription_at = parsed
    if "ending_at" in sent:
        checked.ending_at = validation.ending_at(data.ending_at, starts_at, ctx.now(), errors)
    credit_note = validation.credit_note_option(data.on_termination_credit_note, errors)
    if "on_termination_credit_note" in sent and plan.pay_in_advance:
        checked.credit_note, checked.credit_note_sent = credit_note, True
    checked.invoice = validation.invoice_option(data.on_termination_invoice, errors)
    errors.raise_if_any()
    return checked


def update_subscription(ctx: Ctx, subscription: Subscription, data: SubscriptionUpdateInput) -> Subscription:
    sent = data.model_fields_set
    plan = plan_of(ctx.session, subscription)
    checked = _validate(ctx, subscription, plan, data)
    if "billing_entity_code" in sent or "billing_entity_id" in sent:
        entity = explicit_entity(ctx, data.billing_entity_id, data.billing_entity_code)
        subscription.billing_entity_id = entity.id if entity is not None else None
    if "name" in sent:
        subscription.name = data.name
    if "ending_at" in sent:
        subscription.ending_at = checked.ending_at
    if "purchase_order_number" in sent:
        subscription.purchase_order_number = validation.text(data.purchase_order_number) or None
    if "consolidate_invoice" in sent:
        subscription.consolidate_invoice = validation.boolean(data.consolidate_invoice, True)
    if "progressive_billing_disabled" in sent:
        subscription.progressive_billing_disabled = validation.boolean(
            data.progressive_billing_disabled, False
        )
    if checked.credit_note_sent:
        subscription.on_termination_credit_note = checked.credit_note
    if checked.invoice is not None:
        subscription.on_termination_invoice = checked.invoice
    if "plan_overrides" in sent:
        plan = _override_plan(ctx, plan, data.plan_overrides or {})
        subscription.plan_id = plan.id
    subscription.updated_at = ctx.now()

    starting_later = subscription.status == PENDING and subscription.previous_subscription_id is None
    if starting_later and checked.subscription_at is not None:
        subscription.subscription_at = checked.subscription_at
        _start_if_due(ctx, subscription, plan)
    else:
        flush(ctx)
        notify(ctx, "subscription.updated", subscription)
    return subscription


def _start_if_due(ctx: Ctx, subscription: Subscription, plan: Plan) -> None:
    """A not-yet-started subscription given a new start: still ahead → stays pending (no webhook);
    now or past → active from ``subscription_at``; a pay-in-advance plan starting today (UTC), out
    of trial, queues its start invoice."""
    now = ctx.now()
    if subscription.subscription_at > now:
        flush(ctx)
        return
    mark_active(ctx, subscription, subscription.subscription_at)
    flush(ctx)
    starts_today = subscription.subscription_at.astimezone(UTC).date() == now.astimezone(UTC).date()
    if starts_today and plan.pay_in_advance and not in_trial(ctx.session, subscription, plan, now):
        bill_start(ctx, subscription, now)
    notify(ctx, "subscription.started", subscription)
    notify(ctx, "subscription.updated", subscription)
