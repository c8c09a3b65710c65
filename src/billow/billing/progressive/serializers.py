"""Progressive billing in Lago's invoice and webhook shapes: ``AppliedUsageThresholdObject``
(the threshold as it was applied) and ``subscription.usage_threshold_reached`` (the subscription with
its plan, customer, ``usage_threshold`` and ``applicable_usage_thresholds``).

Read by the invoice serializers and the webhook catalog: imports no service module.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.billing.progressive.events import UsageThresholdReached
from billow.billing.progressive.models import AppliedUsageThreshold
from billow.core.timefmt import iso_z
from billow.pricing.plans.models import UsageThreshold
from billow.pricing.plans.serializers import threshold_payload
from billow.subscriptions.serializers import subscription_payload

WEBHOOK_INCLUDES = frozenset({"plan", "customer", "applicable_usage_thresholds"})


def applied_usage_threshold_payloads(
    session: Session, invoice_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """``applied_usage_thresholds`` of progressive-billing invoices (thresholds as applied)."""
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in invoice_ids}
    if not invoice_ids:
        return grouped
    rows = session.execute(
        select(AppliedUsageThreshold, UsageThreshold)
        .join(UsageThreshold, UsageThreshold.id == AppliedUsageThreshold.usage_threshold_id)
        .where(AppliedUsageThreshold.invoice_id.in_(list(invoice_ids)))
        .order_by(AppliedUsageThreshold.created_at, AppliedUsageThreshold.id)
    ).all()
    for applied, threshold in rows:
        usage_threshold = threshold_payload(threshold)
        usage_threshold.update(
            threshold_display_name=applied.threshold_display_name,
            amount_cents=applied.amount_cents,
            recurring=applied.recurring,
        )
        grouped[applied.invoice_id].append(
            {
                "lifetime_usage_amount_cents": applied.lifetime_usage_amount_cents,
                "created_at": iso_z(applied.created_at),
                "usage_threshold": usage_threshold,
            }
        )
    return grouped


def usage_threshold_reached_payload(session: Session, event: UsageThresholdReached) -> dict[str, Any]:
    """``subscription.usage_threshold_reached``."""
    payload = subscription_payload(session, event.subscription, now=event.at, include=WEBHOOK_INCLUDES)
    applicable = payload.pop("applicable_usage_thresholds", [])
    payload["usage_threshold"] = threshold_payload(event.threshold)
    payload["applicable_usage_thresholds"] = applicable
    return payload
