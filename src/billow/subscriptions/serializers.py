"""Subscriptions in Lago's shape (``SubscriptionObject``) and the includes of each answer.

Lago's ``V1::SubscriptionSerializer``: ``started_at`` has milliseconds, other instants seconds;
``plan_code`` / ``plan_amount_*`` are the subscription's (effective, possibly child) plan's;
``previous_plan_code`` / ``next_plan_code`` the plans of the previous and of the newest
non-canceled next subscription; ``current_billing_period_*`` the current usage period (from
:mod:`billow.subscriptions.periods`) at ``max(now, started_at)``; ``payment_method`` and
``activation_rules`` are always present. Includes: ``plan`` (charges, usage thresholds, applicable
usage thresholds, taxes, minimum commitment), ``customer``, ``entitlements`` (``[]`` until the
entitlements package exists), ``applicable_usage_thresholds``, ``applied_invoice_custom_sections``
(``[]`` until invoice custom sections exist).

Payloads depend on the time (current period, downgrade date): API answers pass ``now``; webhooks
serialize a :class:`SubscriptionEvent`, which carries the instant of the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.core.timefmt import instants_each, iso_date, iso_z, iso_z_ms
from billow.customers.billing_entities import billing_entities_by_id
from billow.customers.models import Customer
from billow.customers.serializers import customer_payload
from billow.organizations.models import BillingEntity
from billow.pricing.plans.models import Plan
from billow.pricing.plans.serializers import plan_payload
from billow.subscriptions.facts import plan_change, schedule_for, timezone_of
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import billing_dates, downgrade_plan_date
from billow.subscriptions.periods.kinds import PlanChange
from billow.subscriptions.repository import next_subscriptions_of, subscriptions_by_id

PLAN_INCLUDES = frozenset(
    {"charges", "usage_thresholds", "applicable_usage_thresholds", "taxes", "minimum_commitment"}
)

LIST: frozenset[str] = frozenset()
CREATE: frozenset[str] = frozenset(
    {"plan", "entitlements", "applicable_usage_thresholds", "applied_invoice_custom_sections"}
)
SHOW = CREATE
UPDATE: frozenset[str] = frozenset({"plan", "applicable_usage_thresholds", "applied_invoice_custom_sections"})
TERMINATE: frozenset[str] = frozenset({"plan", "applied_invoice_custom_sections"})
WEBHOOK: frozenset[str] = frozenset({"plan", "customer"})
WEBHOOK_WITH_ENTITLEMENTS = WEBHOOK | {"entitlements"}

_THRESHOLD_KEYS = ("threshold_display_name", "amount_cents", "recurring")


@dataclass(frozen=True)
class SubscriptionEvent:
    """What a ``subscription.*`` webhook serializes: the subscription as of ``at``."""

    subscription: Subscription
    at: datetime

    @property
    def id(self) -> uuid.UUID:
        return self.subscription.id


@dataclass(frozen=True)
class _Related:
    customers: dict[uuid.UUID, Customer]
    entities: dict[uuid.UUID, BillingEntity]
    plans: dict[uuid.UUID, Plan]
    previous: dict[uuid.UUID, Subscription]
    nexts: dict[uuid.UUID, Subscription]


def _load(session: Session, subscriptions: Sequence[Subscription]) -> _Related:
    org_id = subscriptions[0].organization_id
    customer_ids = {s.customer_id for s in subscriptions}
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))}
    entity_ids = {c.billing_entity_id for c in customers.values()}
    entity_ids |= {s.billing_entity_id for s in subscriptions if s.billing_entity_id is not None}
    previous = subscriptions_by_id(
        session, {s.previous_subscription_id for s in subscriptions if s.previous_subscription_id}
    )
    nexts = next_subscriptions_of(session, [s.id for s in subscriptions])
    plan_ids = {s.plan_id for s in (*subscriptions, *previous.values(), *nexts.values())}
    plans = {p.id: p for p in session.scalars(select(Plan).where(Plan.id.in_(plan_ids)))}
    return _Related(customers, billing_entities_by_id(session, org_id, entity_ids), plans, previous, nexts)


def _downgrade_date(
    subscription: Subscription,
    nxt: Subscription | None,
    change: PlanChange | None,
    tz: str,
    plan: Plan,
    now: datetime,
) -> str | None:
    if nxt is None:
        return None
    if nxt.status == "active" and change == "downgrade":
        return iso_date(nxt.started_at.astimezone(UTC).date()) if nxt.started_at else None
    if nxt.status != "pending":
        return None
    schedule = schedule_for(subscription, plan, tz, change)
    return iso_date(downgrade_plan_date(schedule, now)) if schedule is not None else None


def _current_period(
    subscription: Subscription, plan: Plan, tz: str, change: PlanChange | None, now: datetime
) -> tuple[str | None, str | None]:
    schedule = schedule_for(subscription, plan, tz, change)
    if schedule is None:
        return None, None
    dates = billing_dates(schedule, max(now, schedule.started_at), current_usage=True)
    return iso_z(dates.charges_from_datetime), iso_z(dates.charges_to_datetime)


def _applicable_thresholds(subscription: Subscription, plan_json: dict[str, Any]) -> list[dict[str, Any]]:
    """Lago: none when progressive billing is disabled, else the plan's own thresholds, else the
    parent plan's."""
    if subscription.progressive_billing_disabled:
        return []
    own = [{k: t[k] for k in _THRESHOLD_KEYS} for t in plan_json.get("usage_thresholds", [])]
    return own or list(plan_json.get("applicable_usage_thresholds", []))


def _payload(
    session: Session, subscription: Subscription, related: _Related, now: datetime, include: Collection[str]
) -> dict[str, Any]:
    customer = related.customers[subscription.customer_id]
    tz = timezone_of(customer, related.entities[customer.billing_entity_id])
    entity = related.entities[subscription.billing_entity_id or customer.billing_entity_id]
    plan = related.plans[subscription.plan_id]
    previous = (
        related.previous.get(subscription.previous_subscription_id)
        if subscription.previous_subscription_id is not None
        else None
    )
    nxt = related.nexts.get(subscription.id)
    change = plan_change(plan, related.plans[nxt.plan_id]) if nxt is not None else None
    period_from, period_to = _current_period(subscription, plan, tz, change, now)
    payload: dict[str, Any] = {
        "lago_id": str(subscription.id),
        "external_id": subscription.external_id,
        "lago_customer_id": str(customer.id),
        "external_customer_id": customer.external_id,
        "billing_entity_code": entity.code,
        "name": subscription.name,
        "plan_code": plan.code,
        "plan_amount_cents": plan.amount_cents,
        "plan_amount_currency": plan.amount_currency,
        "status": subscription.status,
        "billing_time": subscription.billing_time,
        "subscription_at": iso_z(subscription.subscription_at),
        "started_at": iso_z_ms(subscription.started_at),
        "trial_ended_at": iso_z(subscription.trial_ended_at),
        "ending_at": iso_z(subscription.ending_at),
        "terminated_at": iso_z(subscription.terminated_at),
        "canceled_at": iso_z(subscription.canceled_at),
        "created_at": iso_z(subscription.created_at),
        "previous_plan_code": related.plans[previous.plan_id].code if previous is not None else None,
        "next_plan_code": related.plans[nxt.plan_id].code if nxt is not None else None,
        "downgrade_plan_date": _downgrade_date(subscription, nxt, change, tz, plan, now),
        "current_billing_period_started_at": period_from,
        "current_billing_period_ending_at": period_to,
        "on_termination_credit_note": subscription.on_termination_credit_note,
        "on_termination_invoice": subscription.on_termination_invoice,
        "progressive_billing_disabled": subscription.progressive_billing_disabled,
        "consolidate_invoice": subscription.consolidate_invoice,
        "purchase_order_number": subscription.purchase_order_number,
        "cancellation_reason": None,
        "activated_at": iso_z(subscription.activated_at),
    }
    if "customer" in include:
        payload["customer"] = customer_payload(session, customer, includes=frozenset())
    if "entitlements" in include:
        payload["entitlements"] = []
    payload["payment_method"] = {"payment_method_id": None, "payment_method_type": "provider"}
    plan_json: dict[str, Any] | None = None
    if "plan" in include or "applicable_usage_thresholds" in include:
        plan_json = plan_payload(session, plan, PLAN_INCLUDES)
    if "plan" in include and plan_json is not None:
        payload["plan"] = plan_json
    if "applicable_usage_thresholds" in include and plan_json is not None:
        payload["applicable_usage_thresholds"] = _applicable_thresholds(subscription, plan_json)
    if "applied_invoice_custom_sections" in include:
        payload["applied_invoice_custom_sections"] = []
    payload["activation_rules"] = []
    return payload


def subscription_payloads(
    session: Session,
    subscriptions: Sequence[Subscription],
    *,
    now: datetime | Sequence[datetime],
    include: Collection[str] = LIST,
) -> list[dict[str, Any]]:
    """Many subscriptions of one organization, their related rows loaded together; ``now``
    for all of them, or each one's (in order)."""
    if not subscriptions:
        return []
    nows = instants_each(now, len(subscriptions))
    related = _load(session, subscriptions)
    return [_payload(session, s, related, at, include) for s, at in zip(subscriptions, nows, strict=True)]


def subscription_payload(
    session: Session, subscription: Subscription, *, now: datetime, include: Collection[str] = LIST
) -> dict[str, Any]:
    """``SubscriptionObject`` (plus ``include``) as of ``now``."""
    return subscription_payloads(session, [subscription], now=now, include=include)[0]


def subscription_webhook_payload(session: Session, event: SubscriptionEvent) -> dict[str, Any]:
    """``subscription.terminated`` / ``.canceled`` / ``.termination_alert`` / ``.trial_ended``."""
    return subscription_payload(session, event.subscription, now=event.at, include=WEBHOOK)


def subscription_webhook_payload_with_entitlements(
    session: Session, event: SubscriptionEvent
) -> dict[str, Any]:
    """``subscription.started`` / ``.updated``."""
    return subscription_payload(session, event.subscription, now=event.at, include=WEBHOOK_WITH_ENTITLEMENTS)
