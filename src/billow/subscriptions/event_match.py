"""Which subscription an event belongs to (metering.md §1.6).

Aggregation never needs it (it reads events by ``external_subscription_id`` over a window), but
pay-in-advance fees and the fee estimates do: the subscription with that external id whose life
holds the instant — ``started_at ≤ at ≤ terminated_at`` (an open end when not terminated), both
bounds truncated to the millisecond (to the second for the estimates, as Lago) — the
non-terminated one first, then the latest started. Subscriptions that never started (pending,
canceled) have no ``started_at`` and never match.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select

from billow.db.context import Ctx
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods.localtime import as_utc

Precision = Literal["millisecond", "second"]


def _truncate(moment: datetime, precision: Precision) -> datetime:
    if precision == "second":
        return moment.replace(microsecond=0)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def subscription_at(
    ctx: Ctx, external_id: str | None, at: datetime, *, precision: Precision = "millisecond"
) -> Subscription | None:
    """The organization's subscription ``external_id`` live at ``at`` (see module doc)."""
    if not external_id:
        return None
    at = as_utc(at)
    candidates = ctx.session.scalars(
        select(Subscription).where(
            Subscription.organization_id == ctx.org_id,
            Subscription.external_id == external_id,
            Subscription.started_at.is_not(None),
        )
    ).all()
    live = [
        s
        for s in candidates
        if s.started_at is not None
        and _truncate(as_utc(s.started_at), precision) <= at
        and (s.terminated_at is None or _truncate(as_utc(s.terminated_at), precision) >= at)
    ]
    if not live:
        return None
    open_ended = [s for s in live if s.terminated_at is None]
    if open_ended:
        return max(open_ended, key=lambda s: (as_utc(s.started_at or at), s.id))
    return max(live, key=lambda s: (as_utc(s.terminated_at or at), as_utc(s.started_at or at), s.id))
