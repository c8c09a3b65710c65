"""What billing needs to know about one subscription, loaded once per invoice.

A :class:`BilledSubscription` bundles the subscription, its plan, customer and billing entity, the
applicable timezone (customer → billing entity → UTC), its neighbours across plan changes and its
trial, and builds the :class:`~billow.subscriptions.periods.Schedule` the periods package works on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from billow.billing.catalog import plan_by_id
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.organizations.models import BillingEntity
from billow.pricing.plans.models import Plan
from billow.subscriptions.facts import plan_change, timezone_of
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import PlanChange, Schedule, Trial, trial_for
from billow.subscriptions.periods.kinds import check_billing_time, check_interval
from billow.subscriptions.repository import initial_started_at, next_subscription, previous_subscription


def applicable_timezone(customer: Customer, entity: BillingEntity) -> str:
    """Customer timezone → its billing entity's → UTC."""
    return timezone_of(customer, entity)


@dataclass(frozen=True)
class BilledSubscription:
    subscription: Subscription
    plan: Plan
    customer: Customer
    billing_entity: BillingEntity
    timezone: str
    next_subscription: Subscription | None
    successor: PlanChange | None
    previous_subscription: Subscription | None
    previous_upgraded: bool
    initial_started_at: datetime
    trial: Trial | None

    @property
    def id(self) -> uuid.UUID:
        return self.subscription.id

    @property
    def terminated(self) -> bool:
        return self.subscription.status == "terminated"

    @property
    def started_at(self) -> datetime:
        sub = self.subscription
        return sub.started_at or sub.subscription_at

    @property
    def has_pending_successor(self) -> bool:
        return self.next_subscription is not None and self.next_subscription.status == "pending"

    @property
    def upgraded(self) -> bool:
        return self.successor == "upgrade"

    def schedule(self) -> Schedule:
        sub, plan = self.subscription, self.plan
        return Schedule(
            interval=check_interval(plan.interval),
            billing_time=check_billing_time(sub.billing_time),
            pay_in_advance=plan.pay_in_advance,
            timezone=self.timezone,
            subscription_at=sub.subscription_at,
            started_at=self.started_at,
            terminated_at=sub.terminated_at if self.terminated else None,
            successor=self.successor,
            bill_charges_monthly=bool(plan.bill_charges_monthly),
            bill_fixed_charges_monthly=bool(plan.bill_fixed_charges_monthly),
        )

    def in_trial_at(self, moment: datetime) -> bool:
        """Lago's ``in_trial_period?``: a trial not marked ended whose end is still ahead."""
        if self.trial is None or self.subscription.trial_ended_at is not None:
            return False
        return self.trial.is_active(moment)


def billed_start(sub: Subscription) -> datetime:
    return sub.started_at or sub.subscription_at


def _plan(ctx: Ctx, plan_id: uuid.UUID) -> Plan:
    plan = plan_by_id(ctx, plan_id)
    if plan is None or plan.organization_id != ctx.org_id:
        raise LookupError(f"plan {plan_id} not found")
    return plan


_UNKNOWN: Any = object()


def load_billed_subscription(
    ctx: Ctx,
    sub: Subscription,
    customer: Customer,
    entity: BillingEntity,
    *,
    following: Subscription | None = _UNKNOWN,
) -> BilledSubscription:
    """``following``: the subscription's ``next_subscription`` when the caller has just read it
    in this transaction (it is read otherwise)."""
    plan = _plan(ctx, sub.plan_id)
    if following is _UNKNOWN:
        following = next_subscription(ctx.session, sub)
    successor = plan_change(plan, _plan(ctx, following.plan_id)) if following is not None else None
    previous = previous_subscription(ctx.session, sub)
    previous_upgraded = False
    if previous is not None:
        previous_next = next_subscription(ctx.session, previous)
        if previous_next is not None:
            change = plan_change(_plan(ctx, previous.plan_id), _plan(ctx, previous_next.plan_id))
            previous_upgraded = change == "upgrade"
    # Only a trial depends on the customer's first start with this external id.
    has_trial = plan.trial_period is not None and plan.trial_period > 0
    initial = initial_started_at(ctx.session, sub) if has_trial else billed_start(sub)
    return BilledSubscription(
        subscription=sub,
        plan=plan,
        customer=customer,
        billing_entity=entity,
        timezone=applicable_timezone(customer, entity),
        next_subscription=following,
        successor=successor,
        previous_subscription=previous,
        previous_upgraded=previous_upgraded,
        initial_started_at=initial,
        trial=trial_for(initial, plan.trial_period),
    )
