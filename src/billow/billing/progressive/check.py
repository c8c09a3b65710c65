"""Refreshing lifetime usage and checking usage thresholds (billing.md §5.3).

The ``billing.refresh_lifetime_usage`` job (payload ``{"external_subscription_id": …}``) takes
the active subscription with that external id, locks its chain's lifetime-usage row (so checks
of one chain run one at a time), recomputes the invoiced and current usage and — when thresholds
apply — runs ``billing.math.passed_usage_thresholds`` with ``billed`` = fees of the latest
progressive invoice whose usage window holds now. Passed thresholds give one progressive-billing
invoice and one ``subscription.usage_threshold_reached`` webhook each.

It is queued:

* after event ingestion (``metering.hooks.IngestionListener``), for the events of metrics that a
  plan with thresholds charges, debounced: one job per subscription and 5-minute bucket of
  ingestion time, due at the end of the bucket (a unique key per bucket);
* every hour, for every active subscription with thresholds (progressive billing not disabled).

A subscription without thresholds keeps its lifetime usage only when read (``GET …``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from billow.billing.fees.engine import FeeEngine
from billow.billing.math import LifetimeUsage as LifetimeAmounts
from billow.billing.math import UsageThreshold as Threshold
from billow.billing.math import passed_usage_thresholds
from billow.billing.models import Invoice
from billow.billing.progressive.credit import latest_progressive_invoice
from billow.billing.progressive.events import UsageThresholdReached
from billow.billing.progressive.invoices import create_progressive_invoice
from billow.billing.progressive.lifetime import find_lifetime_row, refresh_lifetime_usage
from billow.billing.progressive.models import LifetimeUsage
from billow.billing.progressive.thresholds import applicable_thresholds
from billow.core.timefmt import iso_z
from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.jobs.registry import HandlerResult
from billow.jobs.scheduler import TickTask
from billow.metering.hooks import IngestionListener
from billow.metering.models import BillableMetric
from billow.metering.store.base import EventRecord
from billow.pricing.plans.models import Charge, Plan, UsageThreshold
from billow.subscriptions.models import Subscription
from billow.webhooks.emitter import emit

REFRESH_JOB = "billing.refresh_lifetime_usage"
DEBOUNCE = timedelta(minutes=5)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def crossing_key(subscription: Subscription, invoiced: int, last: int, previous: Invoice | None) -> str:
    """Names one crossing: the chain, its invoiced usage, the largest threshold passed and the
    period's previous progressive invoice (recurring thresholds pass again after each one)."""
    previous_id = str(previous.id) if previous is not None else "-"
    return f"{subscription.external_id}|{iso_z(subscription.subscription_at)}|{invoiced}|{last}|{previous_id}"


def check_thresholds(
    ctx: Ctx, engine: FeeEngine, subscription: Subscription, row: LifetimeUsage
) -> Invoice | None:
    """Issue the progressive invoice of the thresholds passed now, if any."""
    thresholds = applicable_thresholds(ctx, subscription)
    if subscription.status != "active" or not thresholds:
        return None
    previous = latest_progressive_invoice(ctx, subscription.id, ctx.now())
    billed = previous.fees_amount_cents if previous is not None else 0
    pairs = [(Threshold(t.amount_cents, t.recurring, t.threshold_display_name), t) for t in thresholds]
    by_identity = {id(plain): stored for plain, stored in pairs}
    amounts = LifetimeAmounts(
        row.historical_usage_amount_cents, row.invoiced_usage_amount_cents, row.current_usage_amount_cents
    )
    passed = passed_usage_thresholds([plain for plain, _ in pairs], amounts, billed)
    if not passed:
        return None
    rows = [by_identity[id(p)] for p in passed]
    key = crossing_key(subscription, row.invoiced_usage_amount_cents, rows[-1].amount_cents, previous)
    invoice = create_progressive_invoice(
        ctx,
        engine,
        subscription,
        rows,
        lifetime_usage_amount_cents=row.total_amount_cents,
        crossing_key=key,
    )
    if invoice is not None:
        for threshold in rows:
            emit(
                ctx,
                "subscription.usage_threshold_reached",
                UsageThresholdReached(subscription, threshold, ctx.now()),
            )
    return invoice


def refresh_and_check(ctx: Ctx, engine: FeeEngine, subscription: Subscription) -> Invoice | None:
    row = refresh_lifetime_usage(ctx, subscription, engine)
    return check_thresholds(ctx, engine, subscription, row)


def _active(ctx: Ctx, external_id: str) -> Subscription | None:
    return ctx.session.scalar(
        select(Subscription).where(
            Subscription.organization_id == ctx.org_id,
            Subscription.external_id == external_id,
            Subscription.status == "active",
        )
    )


def refresh_handler(engine: FeeEngine) -> Callable[[Ctx, dict[str, Any]], HandlerResult]:
    def handler(ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
        subscription = _active(ctx, str(payload.get("external_subscription_id") or ""))
        if subscription is None:
            return None
        if not applicable_thresholds(ctx, subscription) and find_lifetime_row(ctx, subscription) is None:
            return None
        refresh_and_check(ctx, engine, subscription)
        return None

    return handler


def _enqueue(ctx: Ctx, cause: str, external_id: str, bucket: datetime, due: datetime) -> bool:
    return enqueue(
        ctx,
        REFRESH_JOB,
        {"external_subscription_id": external_id},
        unique_key=f"lifetime_usage:{cause}:{ctx.org_id}:{external_id}:{iso_z(bucket)}",
        run_at=due,
    )


def _bucket(now: datetime) -> datetime:
    return now - (now - _EPOCH) % DEBOUNCE


def _threshold_plans(org_id: uuid.UUID) -> Any:
    """Live plans with live thresholds, and their children (which may have their own)."""
    owners = select(UsageThreshold.plan_id).where(
        UsageThreshold.organization_id == org_id, UsageThreshold.deleted_at.is_(None)
    )
    return select(Plan.id).where(
        Plan.organization_id == org_id, or_(Plan.id.in_(owners), Plan.parent_id.in_(owners))
    )


class IngestionRefresh:
    """The ingestion listener (``metering.hooks.IngestionListener``): ``wants`` the codes of
    metrics charged by a plan with thresholds; ``after_insert`` queues one debounced refresh per
    subscription (remembering, per process, what this bucket queued already)."""

    name = "billing.progressive_billing"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bucket: datetime | None = None
        self._queued: set[tuple[uuid.UUID, str]] = set()

    def wants(self, ctx: Ctx, codes: Collection[str]) -> Collection[str]:
        if not codes:
            return ()
        rows = ctx.session.scalars(
            select(BillableMetric.code)
            .join(Charge, Charge.billable_metric_id == BillableMetric.id)
            .where(
                BillableMetric.organization_id == ctx.org_id,
                BillableMetric.code.in_(list(codes)),
                BillableMetric.deleted_at.is_(None),
                Charge.deleted_at.is_(None),
                Charge.plan_id.in_(_threshold_plans(ctx.org_id)),
            )
            .distinct()
        )
        return set(rows)

    def after_insert(self, ctx: Ctx, records: Sequence[EventRecord]) -> None:
        bucket = _bucket(ctx.now())
        ids = {r.external_subscription_id for r in records if r.external_subscription_id}
        with self._lock:
            if bucket != self._bucket:
                self._bucket, self._queued = bucket, set()
            fresh = [i for i in sorted(ids) if (ctx.org_id, i) not in self._queued]
            self._queued.update((ctx.org_id, i) for i in fresh)
        for external_id in fresh:
            _enqueue(ctx, "ingest", external_id, bucket, bucket + DEBOUNCE)


def _hourly(ctx: Ctx, hour: datetime) -> None:
    rows = ctx.session.execute(
        select(Subscription.organization_id, Subscription.external_id)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(
            Subscription.status == "active",
            Subscription.progressive_billing_disabled.is_(False),
            or_(
                Plan.id.in_(select(UsageThreshold.plan_id).where(UsageThreshold.deleted_at.is_(None))),
                Plan.parent_id.in_(select(UsageThreshold.plan_id).where(UsageThreshold.deleted_at.is_(None))),
            ),
        )
        .order_by(Subscription.organization_id, Subscription.external_id)
    ).all()
    for org_id, external_id in rows:
        _enqueue(replace(ctx, organization_id=org_id), "hourly", external_id, hour, hour)


def progressive_billing_tick_task() -> TickTask:
    return TickTask("billing.refresh_lifetime_usages", _hourly)


def progressive_billing_listener() -> IngestionListener:
    """The ingestion listener wired by ``billow.runtime.build_hooks``."""
    refresh = IngestionRefresh()
    return IngestionListener(name=refresh.name, wants=refresh.wants, after_insert=refresh.after_insert)
