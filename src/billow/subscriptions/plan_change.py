"""Plan changes through ``POST /subscriptions`` on an existing external id (billing.md §2.3).

The new plan's yearly amount ≥ the current one's → **upgrade**, now: the current subscription is
terminated (reason ``upgrade``), the new one (same ``external_id``, ``subscription_at`` and
``billing_time``; ``previous_subscription_id`` = the current one) is active now, and one
``billing.bill_subscriptions`` job (``bill:upgrade:<old id>``) bills both. Otherwise
**downgrade**, at the end of the current period: the new subscription waits ``pending`` and the
current one gets ``subscription.updated``; the billing run later calls
:func:`billow.subscriptions.activation.apply_scheduled_downgrade`. Either way a successor that was
already scheduled is canceled. A current subscription that has not started yet simply takes the
new plan.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from billow.db.context import Ctx
from billow.pricing.plans.models import Plan
from billow.pricing.plans.overrides import clone_plan_with_overrides
from billow.subscriptions.billing_jobs import bill_upgrade
from billow.subscriptions.facts import in_trial
from billow.subscriptions.lifecycle import flush, mark_active, mark_canceled, notify
from billow.subscriptions.models import Subscription
from billow.subscriptions.repository import PENDING, next_subscription
from billow.subscriptions.terminate import terminate_subscription

# Lago bills an upgrade one second after it happens.
UPGRADE_BILLING_DELAY = timedelta(seconds=1)


class Keep:
    """A field the request did not send: the new subscription copies the current one's."""


KEEP = Keep()


@dataclass(frozen=True)
class PlanChangeRequest:
    plan: Plan
    overrides: dict[str, Any] | None
    name: str
    ending_at: datetime | Keep | None = KEEP
    consolidate_invoice: bool | Keep = KEEP
    purchase_order_number: str | Keep | None = KEEP
    billing_entity_id: uuid.UUID | None = None
    progressive_billing_disabled: bool = False

    def target_plan(self, ctx: Ctx) -> Plan:
        if self.overrides is None:
            return self.plan
        return clone_plan_with_overrides(ctx, self.plan, self.overrides)


def _cancel_scheduled(ctx: Ctx, current: Subscription) -> None:
    successor = next_subscription(ctx.session, current)
    if successor is not None and successor.status == PENDING:
        mark_canceled(ctx, successor)


def _successor(ctx: Ctx, current: Subscription, request: PlanChangeRequest, plan: Plan) -> Subscription:
    now = ctx.now()
    ending_at = current.ending_at if isinstance(request.ending_at, Keep) else request.ending_at
    consolidate = (
        current.consolidate_invoice
        if isinstance(request.consolidate_invoice, Keep)
        else request.consolidate_invoice
    )
    purchase_order = (
        current.purchase_order_number
        if isinstance(request.purchase_order_number, Keep)
        else request.purchase_order_number
    )
    successor = Subscription(
        organization_id=current.organization_id,
        customer_id=current.customer_id,
        plan_id=plan.id,
        billing_entity_id=request.billing_entity_id or current.billing_entity_id,
        previous_subscription_id=current.id,
        external_id=current.external_id,
        name=request.name,
        status=PENDING,
        billing_time=current.billing_time,
        subscription_at=current.subscription_at,
        ending_at=ending_at,
        on_termination_invoice="generate",
        consolidate_invoice=consolidate,
        progressive_billing_disabled=request.progressive_billing_disabled,
        purchase_order_number=purchase_order,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(successor)
    flush(ctx)
    return successor


def replace_pending_plan(ctx: Ctx, current: Subscription, request: PlanChangeRequest) -> Subscription:
    """A subscription that has not started takes the new plan (and a sent name); no webhook."""
    current.plan_id = request.plan.id
    if request.name:
        current.name = request.name
    if request.billing_entity_id is not None:
        current.billing_entity_id = request.billing_entity_id
    current.updated_at = ctx.now()
    flush(ctx)
    return current


def upgrade(ctx: Ctx, current: Subscription, request: PlanChangeRequest) -> Subscription:
    """Immediate plan change; returns the new, active subscription."""
    if current.status == PENDING:
        return replace_pending_plan(ctx, current, request)
    now = ctx.now()
    plan = request.target_plan(ctx)
    _cancel_scheduled(ctx, current)
    new = _successor(ctx, current, request, plan)
    terminate_subscription(ctx, current, upgrade=True, at=now)
    mark_active(ctx, new, now)
    flush(ctx)
    bills_at_start = plan.pay_in_advance and not in_trial(ctx.session, new, plan, now)
    bill_upgrade(ctx, current, new if bills_at_start else None, now + UPGRADE_BILLING_DELAY)
    notify(ctx, "subscription.started", new)
    return new


def downgrade(ctx: Ctx, current: Subscription, request: PlanChangeRequest) -> Subscription:
    """Plan change at the end of the current period; returns the current subscription."""
    if current.status == PENDING:
        return replace_pending_plan(ctx, current, request)
    plan = request.target_plan(ctx)
    _cancel_scheduled(ctx, current)
    _successor(ctx, current, request, plan)
    notify(ctx, "subscription.updated", current)
    return current


def change_plan(
    ctx: Ctx, current: Subscription, request: PlanChangeRequest, *, is_upgrade: bool
) -> Subscription:
    return upgrade(ctx, current, request) if is_upgrade else downgrade(ctx, current, request)
