"""``GET/PUT /subscriptions/{external_id}/lifetime_usage`` payload: ``LifetimeUsageObject`` and
its ``usage_thresholds`` completion (Lago's ``UsageThresholdsCompletionService``).

Over the lifetime total T: fixed thresholds ≤ T are reached (ratio 1, ``reached_at`` = their
latest application to the chain, else now); the next fixed one gets
``(T − last reached) / (amount − last reached)``, the others 0, and the recurring one is listed
at ``largest + recurring`` with 0. Once every fixed threshold is reached, each recurring step
reached since the last fixed one is listed (ratio 1, ``reached_at`` = the first application at
or above it, else now), then the step in progress. Deliberate difference: Lago computes the step
in progress from ``(last fixed + T) mod recurring``; Billow from ``(T − last fixed) mod
recurring`` (equal without fixed thresholds; Lago's form points past the next step otherwise).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billow.billing.models import InvoiceSubscription
from billow.billing.progressive.models import AppliedUsageThreshold, LifetimeUsage
from billow.billing.progressive.thresholds import applicable_thresholds, chain_ids
from billow.core.timefmt import iso_z, iso_z_ms
from billow.db.context import Ctx
from billow.subscriptions.models import Subscription


def _ratio(numerator: int, denominator: int) -> float:
    """A JSON number, as Lago's ``fdiv`` renders it."""
    if denominator == 0:
        return 0.0
    return float(Decimal(numerator) / Decimal(denominator))


def _entry(amount: int, ratio: float, reached: datetime | None) -> dict[str, Any]:
    return {"amount_cents": amount, "completion_ratio": ratio, "reached_at": iso_z_ms(reached)}


def _applications(
    ctx: Ctx, subscription: Subscription, threshold_id: uuid.UUID
) -> list[AppliedUsageThreshold]:
    invoices = select(InvoiceSubscription.invoice_id).where(
        InvoiceSubscription.subscription_id.in_(chain_ids(ctx, subscription))
    )
    return list(
        ctx.session.scalars(
            select(AppliedUsageThreshold)
            .where(
                AppliedUsageThreshold.organization_id == ctx.org_id,
                AppliedUsageThreshold.usage_threshold_id == threshold_id,
                AppliedUsageThreshold.invoice_id.in_(invoices),
            )
            .order_by(AppliedUsageThreshold.lifetime_usage_amount_cents, AppliedUsageThreshold.created_at)
        )
    )


def thresholds_completion(ctx: Ctx, row: LifetimeUsage, subscription: Subscription) -> list[dict[str, Any]]:
    thresholds = applicable_thresholds(ctx, subscription)
    now = ctx.now()
    total = row.total_amount_cents
    fixed = sorted((t for t in thresholds if not t.recurring), key=lambda t: t.amount_cents)
    recurring = next((t for t in thresholds if t.recurring), None)
    largest = fixed[-1].amount_cents if fixed else 0
    reached = [t for t in fixed if t.amount_cents <= total]
    ahead = [t for t in fixed if t.amount_cents > total]
    entries: list[dict[str, Any]] = []
    for threshold in reached:
        applied = _applications(ctx, subscription, threshold.id)
        at = max((a.created_at for a in applied), default=now)
        entries.append(_entry(threshold.amount_cents, 1.0, at))
    last = reached[-1].amount_cents if reached else 0
    if ahead:
        first = ahead[0]
        entries.append(_entry(first.amount_cents, _ratio(total - last, first.amount_cents - last), None))
        entries.extend(_entry(t.amount_cents, 0.0, None) for t in ahead[1:])
        if recurring is not None:
            entries.append(_entry(largest + recurring.amount_cents, 0.0, None))
    elif recurring is not None and recurring.amount_cents > 0:
        step = recurring.amount_cents
        applied = _applications(ctx, subscription, recurring.id)
        for index in range((total - last) // step):
            amount = last + (index + 1) * step
            at = next((a.created_at for a in applied if a.lifetime_usage_amount_cents >= amount), now)
            entries.append(_entry(amount, 1.0, at))
        remainder = (total - last) % step
        entries.append(_entry(total - remainder + step, _ratio(remainder, step), None))
    return entries


def lifetime_usage_payload(ctx: Ctx, row: LifetimeUsage, subscription: Subscription) -> dict[str, Any]:
    """``LifetimeUsageObject`` (``usage_thresholds`` only when thresholds apply)."""
    payload: dict[str, Any] = {
        "lago_id": str(row.id),
        "lago_subscription_id": str(row.subscription_id),
        "external_subscription_id": row.external_subscription_id,
        "external_historical_usage_amount_cents": row.historical_usage_amount_cents,
        "invoiced_usage_amount_cents": row.invoiced_usage_amount_cents,
        "current_usage_amount_cents": row.current_usage_amount_cents,
        "from_datetime": iso_z(subscription.subscription_at),
        "to_datetime": iso_z(ctx.now()),
    }
    if applicable_thresholds(ctx, subscription):
        payload["usage_thresholds"] = thresholds_completion(ctx, row, subscription)
    return payload
