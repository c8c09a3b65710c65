"""Reading subscriptions: the lists (``GET /subscriptions``, ``GET /customers/{id}/subscriptions``),
one by external id, and what other packages ask about them.

Lists (Lago's ``SubscriptionsQuery``): ``status[]`` (default ``active``; a list holding an unknown
status filters nothing), ``external_customer_id``, ``plan_code`` (a plan and its children),
``billing_entity_codes[]`` (each must exist; the subscription's own entity, else its customer's),
``currency``; newest ``subscription_at`` first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select

from billow.core.errors import NotFound
from billow.core.pagination import PageParams
from billow.customers.billing_entities import billing_entity_ids_for_codes
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.pricing.plans.models import Plan
from billow.subscriptions.models import SUBSCRIPTION_STATUSES, Subscription
from billow.subscriptions.repository import ACTIVE, of_org

__all__ = [
    "SubscriptionFilters",
    "customer_has_subscriptions",
    "get_subscription",
    "list_subscriptions",
    "parse_filters",
    "plan_has_subscriptions",
]


@dataclass(frozen=True)
class SubscriptionFilters:
    statuses: tuple[str, ...] = (ACTIVE,)
    external_customer_id: str | None = None
    plan_code: str | None = None
    billing_entity_codes: tuple[str, ...] = ()
    currency: str | None = None


def parse_filters(items: Sequence[tuple[str, str]]) -> SubscriptionFilters:
    """Query parameters (``status[]`` and ``billing_entity_codes[]`` repeat)."""
    statuses = tuple(v for k, v in items if k in ("status[]", "status") and v)
    codes = tuple(v for k, v in items if k == "billing_entity_codes[]" and v)
    single = {k: v for k, v in items if v}
    if not statuses:
        statuses = (ACTIVE,)
    elif not all(s in SUBSCRIPTION_STATUSES for s in statuses):
        statuses = ()
    return SubscriptionFilters(
        statuses=statuses,
        external_customer_id=single.get("external_customer_id"),
        plan_code=single.get("plan_code"),
        billing_entity_codes=codes,
        currency=single.get("currency"),
    )


def _filtered(ctx: Ctx, filters: SubscriptionFilters, customer_id: uuid.UUID | None) -> Select[Subscription]:
    stmt = of_org(ctx)
    if filters.statuses:
        stmt = stmt.where(Subscription.status.in_(filters.statuses))
    if customer_id is not None:
        stmt = stmt.where(Subscription.customer_id == customer_id)
    elif filters.external_customer_id is not None:
        customers = select(Customer.id).where(
            Customer.organization_id == ctx.org_id,
            Customer.external_id == filters.external_customer_id,
            Customer.deleted_at.is_(None),
        )
        stmt = stmt.where(Subscription.customer_id.in_(customers))
    plan_conditions = []
    if filters.plan_code is not None:
        plan_conditions.append(Plan.code == filters.plan_code)
    if filters.currency is not None:
        plan_conditions.append(Plan.amount_currency == filters.currency)
    if plan_conditions:
        plans = select(Plan.id).where(Plan.organization_id == ctx.org_id, *plan_conditions)
        stmt = stmt.where(Subscription.plan_id.in_(plans))
    if filters.billing_entity_codes:
        ids = billing_entity_ids_for_codes(ctx, filters.billing_entity_codes)
        of_entities = select(Customer.id).where(
            Customer.organization_id == ctx.org_id, Customer.billing_entity_id.in_(ids)
        )
        stmt = stmt.where(
            or_(
                Subscription.billing_entity_id.in_(ids),
                and_(Subscription.billing_entity_id.is_(None), Subscription.customer_id.in_(of_entities)),
            )
        )
    return stmt


def list_subscriptions(
    ctx: Ctx, filters: SubscriptionFilters, page: PageParams, *, customer_id: uuid.UUID | None = None
) -> tuple[list[Subscription], int]:
    base = _filtered(ctx, filters, customer_id)
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    order = (
        Subscription.subscription_at.desc().nulls_last(),
        Subscription.created_at.desc(),
        Subscription.id.desc(),
    )
    items = ctx.session.scalars(base.order_by(*order).offset(page.offset).limit(page.per_page)).all()
    return list(items), total


def get_subscription(ctx: Ctx, external_id: str, status: str | None = None) -> Subscription:
    """``GET /subscriptions/{external_id}``: the one with this status (default ``active``); among
    several terminated ones the last terminated. 404 ``subscription_not_found``."""
    subscription = ctx.session.scalar(
        of_org(ctx)
        .where(Subscription.external_id == external_id, Subscription.status == (status or ACTIVE))
        .order_by(
            Subscription.terminated_at.desc().nulls_first(),
            Subscription.started_at.desc(),
            Subscription.created_at.desc(),
        )
        .limit(1)
    )
    if subscription is None:
        raise NotFound("subscription")
    return subscription


def find_for_termination(ctx: Ctx, external_id: str, status: str | None) -> Subscription:
    """``DELETE``: the active subscription, or the pending one when ``status=pending`` (row
    locked: a concurrent termination waits, then finds it no longer active)."""
    wanted = "pending" if status == "pending" else ACTIVE
    subscription = ctx.session.scalar(
        of_org(ctx)
        .where(Subscription.external_id == external_id, Subscription.status == wanted)
        .order_by(Subscription.created_at, Subscription.id)
        .limit(1)
        .with_for_update()
    )
    if subscription is None:
        raise NotFound("subscription")
    return subscription


def plan_has_subscriptions(ctx: Ctx, plan_id: uuid.UUID) -> bool:
    """For ``PlanHooks.attached_to_subscriptions``: a subscription, whatever its status, is on
    the plan itself (Lago's ``Plan#attached_to_subscriptions?``; subscriptions on a child plan,
    the copy their overrides made, leave the parent editable)."""
    stmt = of_org(ctx).with_only_columns(Subscription.id).where(Subscription.plan_id == plan_id)
    return ctx.session.scalar(stmt.limit(1)) is not None


def customer_has_subscriptions(ctx: Ctx, customer_id: uuid.UUID) -> bool:
    """For ``CustomerHooks.currency_holders``: any subscription, whatever its status."""
    stmt = of_org(ctx).with_only_columns(Subscription.id).where(Subscription.customer_id == customer_id)
    return ctx.session.scalar(stmt.limit(1)) is not None
