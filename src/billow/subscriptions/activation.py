"""Activation: a new subscription starting (today, backdated, or when its start date arrives on
the hourly tick) and the scheduled downgrade the billing run applies.

Activation of a pay-in-advance plan outside a free trial queues its start invoice
(``bill:start:<id>``); a backdated start queues nothing (its first invoice is the next billing
day's). ``subscription.started`` goes out on every activation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from billow.db.context import Ctx
from billow.pricing.plans.models import Plan
from billow.subscriptions.billing_jobs import bill_start
from billow.subscriptions.facts import in_trial, plan_of, subscription_timezone
from billow.subscriptions.lifecycle import each_isolated, flush, mark_active, mark_terminated, notify
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import local_date
from billow.subscriptions.repository import ACTIVE, PENDING, TERMINATED, next_subscription

# Local dates run at most 14 hours ahead of UTC: a start date that is "today" somewhere is
# never more than this far ahead of the tick (a cheap, indexable pre-filter).
_AHEAD = timedelta(days=2)


def activate(
    ctx: Ctx, subscription: Subscription, plan: Plan, at: datetime, *, now: datetime | None = None
) -> None:
    """``pending → active`` at ``at`` (``started_at``), start invoice if it bills at start,
    ``subscription.started``. ``now`` (default ``ctx.now()``) decides whether the trial runs."""
    now = now or ctx.now()
    mark_active(ctx, subscription, at)
    flush(ctx)
    if plan.pay_in_advance and not in_trial(ctx.session, subscription, plan, now):
        bill_start(ctx, subscription, at)
    notify(ctx, "subscription.started", subscription, now)


def activate_backdated(ctx: Ctx, subscription: Subscription, started_at: datetime) -> None:
    """A subscription created with a past start: active at once, nothing invoiced now."""
    mark_active(ctx, subscription, started_at)
    flush(ctx)
    notify(ctx, "subscription.started", subscription)


def apply_scheduled_downgrade(ctx: Ctx, old: Subscription, at: datetime) -> Subscription | None:
    """On the old subscription's billing day, switch to the downgraded plan.

    Terminates ``old`` (``terminated_at = at``, reason ``downgrade``), activates its pending
    successor (``started_at = at``) and sends ``subscription.terminated`` then
    ``subscription.started``. Queues no invoice: the billing run calling this bills both.
    Returns the new subscription; ``None`` when there is no pending successor. Idempotent: once
    applied, returns the (already active) successor and changes nothing.
    """
    successor = next_subscription(ctx.session, old)
    if successor is None:
        return None
    if successor.status != PENDING:
        return successor if successor.status == ACTIVE and old.status == TERMINATED else None
    if old.status != ACTIVE:
        return None
    mark_terminated(ctx, old, at, "downgrade")
    flush(ctx)
    mark_active(ctx, successor, at)
    flush(ctx)
    notify(ctx, "subscription.terminated", old, at)
    notify(ctx, "subscription.started", successor, at)
    return successor


def _due_pending(ctx: Ctx, hour: datetime) -> list[Subscription]:
    return list(
        ctx.session.scalars(
            select(Subscription)
            .where(
                Subscription.status == PENDING,
                Subscription.previous_subscription_id.is_(None),
                Subscription.subscription_at < hour + _AHEAD,
            )
            .order_by(Subscription.subscription_at, Subscription.id)
        )
    )


def _activate_if_due(ctx: Ctx, subscription: Subscription, hour: datetime) -> None:
    tz = subscription_timezone(ctx.session, subscription)
    if local_date(subscription.subscription_at, tz) > local_date(hour, tz):
        return
    activate(ctx, subscription, plan_of(ctx.session, subscription), hour, now=hour)


def activate_due_subscriptions(ctx: Ctx, hour: datetime) -> int:
    """Tick: pending subscriptions (without previous subscription) whose start date, in the
    customer's timezone, is today or earlier become active now. A second run finds them active."""
    due = _due_pending(ctx, hour)
    return each_isolated(
        ctx,
        "subscriptions.activate_pending",
        due,
        lambda octx, sub: _activate_if_due(octx, sub, hour),
        lambda sub: sub.organization_id,
    )
