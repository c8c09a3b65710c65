"""What the lifecycle reads about a subscription's surroundings: its customer's timezone, its
plan, its period schedule (for the pure :mod:`billow.subscriptions.periods`), its trial.

Plans and customers are read by id (a subscription keeps pointing at a soft-deleted plan or
customer); the timezone is the customer's, else its billing entity's, else UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from billow.customers.billing_entities import billing_entities_by_id
from billow.customers.models import Customer
from billow.organizations.models import BillingEntity
from billow.pricing.plans.models import Plan
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import Schedule, Trial, is_upgrade, trial_for
from billow.subscriptions.periods.kinds import PlanChange, check_billing_time, check_interval
from billow.subscriptions.repository import initial_started_at, next_subscription


def customer_of(session: Session, subscription: Subscription) -> Customer:
    customer = session.get(Customer, subscription.customer_id)
    assert customer is not None and customer.organization_id == subscription.organization_id
    return customer


def plan_of(session: Session, subscription: Subscription) -> Plan:
    plan = session.get(Plan, subscription.plan_id)
    assert plan is not None and plan.organization_id == subscription.organization_id
    return plan


def customer_entity(session: Session, customer: Customer) -> BillingEntity:
    entities = billing_entities_by_id(session, customer.organization_id, {customer.billing_entity_id})
    return entities[customer.billing_entity_id]


def timezone_of(customer: Customer, entity: BillingEntity) -> str:
    """Customer timezone → billing entity timezone → UTC."""
    return customer.timezone or entity.timezone or "UTC"


def customer_timezone(session: Session, customer: Customer) -> str:
    return timezone_of(customer, customer_entity(session, customer))


def subscription_timezone(session: Session, subscription: Subscription) -> str:
    return customer_timezone(session, customer_of(session, subscription))


def plan_change(current: Plan, new: Plan) -> PlanChange:
    """Upgrade when the new plan's yearly amount is at least the current one's (ties too)."""
    upgrade = is_upgrade(
        current.amount_cents, check_interval(current.interval), new.amount_cents, check_interval(new.interval)
    )
    return "upgrade" if upgrade else "downgrade"


def successor_change(session: Session, subscription: Subscription, plan: Plan) -> PlanChange | None:
    """How the subscription's next (non-canceled) subscription relates to it, if there is one."""
    successor = next_subscription(session, subscription)
    if successor is None:
        return None
    return plan_change(plan, plan_of(session, successor))


def schedule_for(
    subscription: Subscription, plan: Plan, tz: str, successor: PlanChange | None = None
) -> Schedule | None:
    """The periods schedule of a started subscription (``None`` before it starts)."""
    if subscription.started_at is None:
        return None
    terminated_at = subscription.terminated_at if subscription.status == "terminated" else None
    return Schedule(
        interval=check_interval(plan.interval),
        billing_time=check_billing_time(subscription.billing_time),
        pay_in_advance=plan.pay_in_advance,
        timezone=tz,
        subscription_at=subscription.subscription_at,
        started_at=subscription.started_at,
        terminated_at=terminated_at,
        successor=successor,
        bill_charges_monthly=bool(plan.bill_charges_monthly),
        bill_fixed_charges_monthly=bool(plan.bill_fixed_charges_monthly),
    )


def trial_of(session: Session, subscription: Subscription, plan: Plan) -> Trial | None:
    """The subscription's free trial (from the customer's first start with this external id)."""
    if plan.trial_period is None or plan.trial_period <= 0:
        return None
    return trial_for(initial_started_at(session, subscription), plan.trial_period)


def in_trial(session: Session, subscription: Subscription, plan: Plan, at: datetime) -> bool:
    """Lago's ``in_trial_period?`` at ``at``: not marked ended, started, end still ahead."""
    trial = trial_of(session, subscription, plan)
    return trial is not None and trial.is_active(at, subscription.trial_ended_at)
