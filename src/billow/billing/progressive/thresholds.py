"""Which usage thresholds apply to a subscription, and its chain (no service imports: the
serializers read them too)."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from billow.db.context import Ctx
from billow.pricing.plans.models import Plan, UsageThreshold
from billow.subscriptions.models import Subscription


def chain_ids(ctx: Ctx, subscription: Subscription) -> Select[uuid.UUID]:
    """Every non-canceled subscription with the same external id and ``subscription_at`` (a
    plan change keeps both): the subscriptions one lifetime usage spans."""
    return select(Subscription.id).where(
        Subscription.organization_id == ctx.org_id,
        Subscription.external_id == subscription.external_id,
        Subscription.subscription_at == subscription.subscription_at,
        Subscription.canceled_at.is_(None),
    )


def applicable_thresholds(ctx: Ctx, subscription: Subscription) -> list[UsageThreshold]:
    """Lago's ``Subscription#applicable_usage_thresholds``: none when progressive billing is
    disabled; else the plan's own live thresholds, else its parent plan's (oldest first)."""
    if subscription.progressive_billing_disabled:
        return []
    plan = ctx.session.get(Plan, subscription.plan_id)
    if plan is None:
        return []
    for owner in (plan.id, plan.parent_id):
        if owner is None:
            continue
        rows = list(
            ctx.session.scalars(
                select(UsageThreshold)
                .where(
                    UsageThreshold.organization_id == ctx.org_id,
                    UsageThreshold.plan_id == owner,
                    UsageThreshold.deleted_at.is_(None),
                )
                .order_by(UsageThreshold.created_at, UsageThreshold.id)
            )
        )
        if rows:
            return rows
    return []
