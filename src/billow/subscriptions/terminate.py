"""Termination (``DELETE /subscriptions/{external_id}``, ``ending_at``, plan deletion, upgrade)
and cancellation of a pending subscription (Lago's ``Subscriptions::TerminateService``).

Active → ``terminated`` now; the termination options (``on_termination_credit_note`` for
pay-in-advance plans only, blank → ``credit``; ``on_termination_invoice``, blank → ``generate``)
are recorded, and when that changes the row Lago's update path also sends
``subscription.updated``; the termination invoice is queued unless ``skip`` (not on an upgrade,
which bills once for both subscriptions); a pending successor is canceled; then
``subscription.terminated``. Pending → ``canceled`` (``subscription.updated`` on its previous
subscription, if any) and — Lago's quirk — ``subscription.terminated``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from billow.core.errors import ErrorCollector
from billow.db.context import Ctx
from billow.pricing.plans.models import Plan
from billow.subscriptions import validation
from billow.subscriptions.billing_jobs import bill_termination, queue_termination_credit_note
from billow.subscriptions.facts import plan_of, subscription_timezone
from billow.subscriptions.lifecycle import each_isolated, flush, mark_canceled, mark_terminated, notify
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import local_date
from billow.subscriptions.repository import (
    ACTIVE,
    PENDING,
    next_subscription,
    previous_subscription,
    subscriptions_of_plans,
)


class Unset:
    """An option the request did not send (the stored value then applies)."""


UNSET = Unset()
Option = str | None | Unset
_CREDIT_NOTE_KINDS = ("credit", "refund", "offset")
# An ``ending_at`` that is "today" somewhere lies within this distance of the tick.
_ENDING_WINDOW = timedelta(days=3)


def termination_credit_note_requested(
    ctx: Ctx, subscription: Subscription, plan: Plan, option: str | None, *, upgrade: bool
) -> bool:
    """Records the behaviour asked for the unused days of a pay-in-advance subscription on
    ``subscription.on_termination_credit_note`` (``None`` → ``credit``; pay-in-arrears plans
    record nothing, the column stays ``None``). Returns whether the recorded option changed.

    The credit note itself is issued by the credit notes package when the termination (or
    upgrade) invoice is computed — before it, so that the invoice consumes it — or, when that
    invoice is skipped, by the job ``credit_notes.termination`` (:func:`terminate_subscription`).
    """
    del ctx, upgrade  # the credit notes package reads the recorded option
    if not plan.pay_in_advance:
        return False
    wanted = option or "credit"
    if subscription.on_termination_credit_note == wanted:
        return False
    subscription.on_termination_credit_note = wanted
    return True


def credit_note_wanted(subscription: Subscription, plan: Plan) -> bool:
    """Whether a terminated subscription asked for a credit note of its unused days."""
    return plan.pay_in_advance and (subscription.on_termination_credit_note or "credit") in _CREDIT_NOTE_KINDS


def _options(
    subscription: Subscription, plan: Plan, credit_note: Option, invoice: Option
) -> tuple[str | None, str]:
    """The effective options: an absent one keeps the stored value; blank means the default."""
    errors = ErrorCollector()
    cn_raw = subscription.on_termination_credit_note if isinstance(credit_note, Unset) else credit_note
    inv_raw = subscription.on_termination_invoice if isinstance(invoice, Unset) else invoice
    cn = validation.credit_note_option(cn_raw, errors) if plan.pay_in_advance else None
    inv = validation.invoice_option(inv_raw, errors)
    errors.raise_if_any()
    return cn, inv or "generate"


def terminate_subscription(
    ctx: Ctx,
    subscription: Subscription,
    *,
    credit_note: Option = UNSET,
    invoice: Option = UNSET,
    reason: str = "manual",
    at: datetime | None = None,
    upgrade: bool = False,
) -> Subscription:
    """Terminate an active subscription at ``at`` (default now). Options are validated before
    anything is written (422 ``invalid_value``)."""
    at = at or ctx.now()
    plan = plan_of(ctx.session, subscription)
    cn, inv = _options(subscription, plan, credit_note, invoice)
    mark_terminated(ctx, subscription, at, "upgrade" if upgrade else reason)
    flush(ctx)
    changed = termination_credit_note_requested(ctx, subscription, plan, cn, upgrade=upgrade)
    if subscription.on_termination_invoice != inv:
        subscription.on_termination_invoice = inv
        changed = True
    if changed:
        notify(ctx, "subscription.updated", subscription, at)
    if not upgrade:
        if subscription.on_termination_invoice == "generate":
            bill_termination(ctx, subscription)
        elif credit_note_wanted(subscription, plan):
            queue_termination_credit_note(ctx, subscription)
        successor = next_subscription(ctx.session, subscription)
        if successor is not None and successor.status == PENDING:
            mark_canceled(ctx, successor)
    notify(ctx, "subscription.terminated", subscription, at)
    return subscription


def cancel_pending(ctx: Ctx, subscription: Subscription) -> Subscription:
    """``DELETE …?status=pending``: the pending subscription is canceled (no invoice, options
    ignored); its previous subscription (a scheduled downgrade) gets ``subscription.updated``;
    ``subscription.terminated`` is sent for the canceled one, as Lago does."""
    previous = previous_subscription(ctx.session, subscription)
    mark_canceled(ctx, subscription)
    flush(ctx)
    if previous is not None:
        notify(ctx, "subscription.updated", previous)
    notify(ctx, "subscription.terminated", subscription)
    return subscription


def terminate_or_cancel(
    ctx: Ctx, subscription: Subscription, *, credit_note: Option = UNSET, invoice: Option = UNSET
) -> Subscription:
    if subscription.status == PENDING:
        return cancel_pending(ctx, subscription)
    return terminate_subscription(ctx, subscription, credit_note=credit_note, invoice=invoice)


def terminate_plan_subscriptions(ctx: Ctx, plan_ids: Sequence[uuid.UUID]) -> int:
    """Plan deletion (for ``plans.delete_cascade``): active subscriptions of the plans are
    terminated (reason ``plan_deleted``, invoices queued), pending ones canceled silently."""
    count = 0
    for subscription in subscriptions_of_plans(ctx, plan_ids, (ACTIVE, PENDING)):
        if subscription.status == ACTIVE:
            terminate_subscription(ctx, subscription, reason="plan_deleted")
        else:
            mark_canceled(ctx, subscription)
        count += 1
    ctx.session.flush()
    return count


def terminate_deleted_plan_subscriptions(ctx: Ctx, plan: Plan) -> None:
    """``before_delete`` hook of ``plans.delete_cascade`` (wired by the runtime), run for the
    plan and for each of its children: see ``terminate_plan_subscriptions``."""
    terminate_plan_subscriptions(ctx, [plan.id])


def terminate_customer_subscriptions(ctx: Ctx, customer_id: uuid.UUID) -> int:
    """Customer deletion (``CustomerHooks.on_delete``, wired by the runtime): its active
    subscriptions are terminated (invoices queued), its pending ones canceled silently."""
    count = 0
    for subscription in ctx.session.scalars(
        select(Subscription)
        .where(
            Subscription.organization_id == ctx.org_id,
            Subscription.customer_id == customer_id,
            Subscription.status.in_((ACTIVE, PENDING)),
        )
        .order_by(Subscription.created_at, Subscription.id)
    ).all():
        if subscription.status == ACTIVE:
            terminate_subscription(ctx, subscription)
        elif subscription.status == PENDING:
            mark_canceled(ctx, subscription)
        count += 1
    ctx.session.flush()
    return count


def _ending_candidates(ctx: Ctx, hour: datetime) -> list[Subscription]:
    return list(
        ctx.session.scalars(
            select(Subscription)
            .where(
                Subscription.status == ACTIVE,
                Subscription.ending_at >= hour - _ENDING_WINDOW,
                Subscription.ending_at <= hour + _ENDING_WINDOW,
            )
            .order_by(Subscription.ending_at, Subscription.id)
        )
    )


def _terminate_if_ending_today(ctx: Ctx, subscription: Subscription, hour: datetime) -> None:
    assert subscription.ending_at is not None
    tz = subscription_timezone(ctx.session, subscription)
    if local_date(subscription.ending_at, tz) == local_date(hour, tz):
        terminate_subscription(ctx, subscription, reason="ending_at", at=hour)


def terminate_ended_subscriptions(ctx: Ctx, hour: datetime) -> int:
    """Tick: active subscriptions whose ``ending_at`` falls today in the customer's timezone are
    terminated now (``terminated_at`` = the tick, not ``ending_at``). A second run finds them
    terminated."""
    return each_isolated(
        ctx,
        "subscriptions.terminate_ended",
        _ending_candidates(ctx, hour),
        lambda octx, sub: _terminate_if_ending_today(octx, sub, hour),
        lambda sub: sub.organization_id,
    )
