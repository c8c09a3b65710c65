"""``subscription.termination_alert`` (billing.md §2.6): N days before ``ending_at``.

The hourly tick queues one ``subscriptions.termination_alert`` job per active subscription whose
``ending_at`` (UTC date) is today + N for N in ``BILLOW_SUBSCRIPTION_TERMINATION_ALERT_DAYS``
(default 45 and 15); the job's unique key holds the UTC day, so a subscription is alerted at most
once a day however often the tick runs. The job sends the webhook if the subscription is still
active.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.jobs.registry import HandlerResult
from billow.subscriptions.lifecycle import notify
from billow.subscriptions.models import Subscription
from billow.subscriptions.repository import ACTIVE, of_org

TERMINATION_ALERT_JOB = "subscriptions.termination_alert"


def alert_key(subscription_id: uuid.UUID, day: str) -> str:
    return f"subscriptions:termination_alert:{subscription_id}:{day}"


def queue_termination_alerts(ctx: Ctx, hour: datetime) -> int:
    """Tick: queue today's alerts. Returns how many were newly queued."""
    days = ctx.settings.termination_alert_days
    if not days:
        return 0
    today = hour.astimezone(UTC).date()
    targets = {today + timedelta(days=n) for n in days}
    low = datetime.combine(min(targets), time(0), tzinfo=UTC)
    high = datetime.combine(max(targets) + timedelta(days=1), time(0), tzinfo=UTC)
    rows = ctx.session.execute(
        select(Subscription.id, Subscription.organization_id, Subscription.ending_at)
        .where(Subscription.status == ACTIVE, Subscription.ending_at >= low, Subscription.ending_at < high)
        .order_by(Subscription.ending_at, Subscription.id)
    ).all()
    queued = 0
    for subscription_id, organization_id, ending_at in rows:
        if ending_at is None or ending_at.astimezone(UTC).date() not in targets:
            continue
        queued += enqueue(
            ctx,
            TERMINATION_ALERT_JOB,
            {"subscription_id": str(subscription_id)},
            unique_key=alert_key(subscription_id, today.isoformat()),
            organization_id=organization_id,
        )
    return queued


def send_termination_alert(ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
    """The job: ``subscription.termination_alert`` for a subscription still active and ending."""
    subscription = ctx.session.scalar(
        of_org(ctx).where(Subscription.id == uuid.UUID(str(payload["subscription_id"])))
    )
    if subscription is not None and subscription.status == ACTIVE and subscription.ending_at is not None:
        notify(ctx, "subscription.termination_alert", subscription)
    return None
