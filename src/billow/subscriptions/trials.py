"""End of free trials (billing.md §2.5), checked by the hourly tick.

An active subscription whose trial (from the customer's first start with its external id, for
the current plan's ``trial_period`` days) has ended and is not yet marked: ``trial_ended_at`` =
the trial's end, a pay-in-advance plan queues its first subscription fee
(``bill:trial_end:<id>``, billed at the tick), and ``subscription.trial_ended`` goes out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from billow.db.context import Ctx
from billow.pricing.plans.models import Plan
from billow.subscriptions.billing_jobs import bill_trial_end
from billow.subscriptions.facts import trial_of
from billow.subscriptions.lifecycle import each_isolated, flush, notify
from billow.subscriptions.models import Subscription
from billow.subscriptions.repository import ACTIVE


def end_trial(ctx: Ctx, subscription: Subscription, plan: Plan, at: datetime) -> bool:
    """Mark the trial ended if it has by ``at``; False when it still runs or was marked."""
    trial = trial_of(ctx.session, subscription, plan)
    if trial is None or subscription.trial_ended_at is not None or not trial.has_ended(at):
        return False
    subscription.trial_ended_at = trial.end
    subscription.updated_at = ctx.now()
    flush(ctx)
    if plan.pay_in_advance:
        bill_trial_end(ctx, subscription, at)
    notify(ctx, "subscription.trial_ended", subscription, at)
    return True


def _end_trial_of(ctx: Ctx, row: tuple[Subscription, Plan], hour: datetime) -> None:
    end_trial(ctx, row[0], row[1], hour)


def end_trials(ctx: Ctx, hour: datetime) -> int:
    """Tick: every active subscription on a plan with a trial, not yet marked ended."""
    rows = ctx.session.execute(
        select(Subscription, Plan)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(
            Subscription.status == ACTIVE,
            Subscription.trial_ended_at.is_(None),
            Plan.trial_period.is_not(None),
        )
        .order_by(Subscription.created_at, Subscription.id)
    ).all()
    candidates = [
        (sub, plan) for sub, plan in rows if plan.trial_period is not None and plan.trial_period > 0
    ]
    return each_isolated(
        ctx,
        "subscriptions.end_trials",
        candidates,
        lambda octx, row: _end_trial_of(octx, row, hour),
        lambda row: row[0].organization_id,
    )
