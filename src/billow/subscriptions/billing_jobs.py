"""The billing work a lifecycle transition causes, as jobs (docs/adr/0001-billing-jobs.md).

The subscriptions package never calls billing code: it enqueues ``billing.bill_subscriptions`` in
the transition's transaction, with the ADR's payload and unique key, and the billing package
handles it. A key already used is ignored (the job is enqueued once, forever).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.subscriptions.models import Subscription

BILL_SUBSCRIPTIONS_JOB = "billing.bill_subscriptions"
TERMINATION_CREDIT_NOTE_JOB = "credit_notes.termination"

Reason = Literal["subscription_starting", "subscription_terminating", "subscription_upgrading"]


def job_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds: ``2024-03-05T12:12:00.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _bill(ctx: Ctx, key: str, at: datetime, items: Sequence[tuple[Subscription, Reason]]) -> bool:
    customer_ids = {subscription.customer_id for subscription, _ in items}
    assert len(customer_ids) == 1, "one job bills one customer"
    payload = {
        "customer_id": str(items[0][0].customer_id),
        "timestamp": job_timestamp(at),
        "items": [{"subscription_id": str(s.id), "reason": reason} for s, reason in items],
    }
    return enqueue(ctx, BILL_SUBSCRIPTIONS_JOB, payload, unique_key=key)


def bill_start(ctx: Ctx, subscription: Subscription, at: datetime) -> bool:
    """The start invoice of a pay-in-advance subscription activated out of trial."""
    return _bill(ctx, f"bill:start:{subscription.id}", at, [(subscription, "subscription_starting")])


def bill_trial_end(ctx: Ctx, subscription: Subscription, at: datetime) -> bool:
    """The first subscription fee of a pay-in-advance plan whose free trial just ended."""
    return _bill(ctx, f"bill:trial_end:{subscription.id}", at, [(subscription, "subscription_starting")])


def bill_termination(ctx: Ctx, subscription: Subscription) -> bool:
    """The termination invoice (manual, ``ending_at``, plan deletion), billed at ``terminated_at``."""
    assert subscription.terminated_at is not None
    return _bill(
        ctx,
        f"bill:terminate:{subscription.id}",
        subscription.terminated_at,
        [(subscription, "subscription_terminating")],
    )


def bill_upgrade(ctx: Ctx, old: Subscription, new: Subscription | None, at: datetime) -> bool:
    """One invoice for an upgrade: the old subscription's last items and, when it bills at
    start, the new one's first fee (``new`` is ``None`` otherwise)."""
    items: list[tuple[Subscription, Reason]] = [(old, "subscription_upgrading")]
    if new is not None:
        items.append((new, "subscription_starting"))
    return _bill(ctx, f"bill:upgrade:{old.id}", at, items)


def queue_termination_credit_note(ctx: Ctx, subscription: Subscription) -> bool:
    """The unused pay-in-advance days' credit note of a termination whose invoice is skipped
    (otherwise the termination invoice's job issues it first)."""
    return enqueue(
        ctx,
        TERMINATION_CREDIT_NOTE_JOB,
        {"subscription_id": str(subscription.id)},
        unique_key=f"credit_note:terminate:{subscription.id}",
    )
