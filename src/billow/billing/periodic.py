"""The billing-day tick (billing.md §3.1): which subscriptions bill today, grouped into jobs.

At the first hour boundary of each local day (per applicable timezone: customer → billing entity
→ UTC) the active subscriptions of customers in that timezone are streamed in chunks, ordered by
customer, and each one is due when today (local) is a billing day of its plan, it did not start
today or later, it was created by today, today is not its ``ending_at`` day, and no recurring
invoice-subscription of it is dated today. A customer's due subscriptions become one
``billing.bill_subscriptions`` job per (currency, billing entity, purchase order number); a
subscription with ``consolidate_invoice = false`` or a pending downgrade gets a job of its own.
Unique keys make a second run of the same hour enqueue nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select

from billow.billing.invoicing import BILL_SUBSCRIPTIONS_JOB, PERIODIC
from billow.billing.models import InvoiceSubscription
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.db.one_of import one_of
from billow.jobs.queue import NewJob, enqueue_many
from billow.jobs.scheduler import TickTask
from billow.organizations.models import BillingEntity
from billow.pricing.plans.models import Plan
from billow.subscriptions.billing_jobs import job_timestamp
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import is_billing_day, local_date
from billow.subscriptions.periods.kinds import check_billing_time, check_interval

CHUNK = 1000
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class DueRow:
    id: uuid.UUID
    organization_id: uuid.UUID
    customer_id: uuid.UUID
    entity_id: uuid.UUID
    timezone: str
    currency: str
    consolidate: bool
    purchase_order_number: str | None
    pending_successor: bool = False


def timezone_column() -> ColumnElement[str]:
    """A subscription's applicable timezone (customer → billing entity → UTC), over the joins of
    :func:`active_subscriptions`."""
    return func.coalesce(Customer.timezone, BillingEntity.timezone, literal("UTC"))


def active_subscriptions(*columns: Any) -> Select[Any]:
    """``columns`` of the active subscriptions, joined to their customer, the customer's billing
    entity and their plan: what the billing-day tick reads. The test clock's bound of this tick
    (``billow.testclock.horizon.periodic_bound``) reads it too, so the two cannot drift apart;
    each adds its own columns and conditions."""
    return (
        select(*columns)
        .select_from(Subscription)
        .join(Customer, Customer.id == Subscription.customer_id)
        .join(BillingEntity, BillingEntity.id == Customer.billing_entity_id)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.status == "active")
    )


def zones_starting_a_day(names: Iterable[str], hour: datetime) -> list[str]:
    """The timezones among ``names`` whose local date changes at ``hour`` (the first tick of
    their day)."""
    return sorted(n for n in set(names) if local_date(hour, n) != local_date(hour - _HOUR, n))


def timezones_starting_a_day(ctx: Ctx, hour: datetime) -> list[str]:
    """Applicable timezones of customers with an active subscription whose day starts at ``hour``."""
    names = ctx.session.scalars(active_subscriptions(timezone_column()).distinct()).all()
    return zones_starting_a_day(names, hour)


def _chunks(ctx: Ctx, timezones: Sequence[str]) -> Iterator[list[tuple]]:
    tz = timezone_column()
    stmt = (
        active_subscriptions(
            Subscription.id,
            Subscription.organization_id,
            Subscription.customer_id,
            func.coalesce(Subscription.billing_entity_id, Customer.billing_entity_id),
            tz,
            Subscription.started_at,
            Subscription.created_at,
            Subscription.ending_at,
            Subscription.subscription_at,
            Subscription.billing_time,
            Subscription.consolidate_invoice,
            Subscription.purchase_order_number,
            Plan.interval,
            Plan.bill_charges_monthly,
            Plan.bill_fixed_charges_monthly,
            Plan.amount_currency,
        )
        .where(tz.in_(list(timezones)))
        .order_by(Subscription.customer_id, Subscription.id)
        .limit(CHUNK)
    )
    last: tuple[uuid.UUID, uuid.UUID] | None = None
    while True:
        page = stmt
        if last is not None:
            page = stmt.where(
                or_(
                    Subscription.customer_id > last[0],
                    and_(Subscription.customer_id == last[0], Subscription.id > last[1]),
                )
            )
        rows = ctx.session.execute(page).all()
        if not rows:
            return
        yield [tuple(r) for r in rows]
        last = (rows[-1][2], rows[-1][0])
        if len(rows) < CHUNK:
            return


def _billed_today(ctx: Ctx, ids: Sequence[uuid.UUID], hour: datetime) -> dict[uuid.UUID, list[datetime]]:
    rows = ctx.session.execute(
        select(InvoiceSubscription.subscription_id, InvoiceSubscription.timestamp).where(
            one_of(InvoiceSubscription.subscription_id, ids),
            InvoiceSubscription.recurring.is_(True),
            InvoiceSubscription.timestamp >= hour - timedelta(days=2),
        )
    ).all()
    found: dict[uuid.UUID, list[datetime]] = {}
    for sub_id, stamp in rows:
        found.setdefault(sub_id, []).append(stamp)
    return found


def _pending_successors(ctx: Ctx, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = ctx.session.scalars(
        select(Subscription.previous_subscription_id).where(
            one_of(Subscription.previous_subscription_id, ids), Subscription.status == "pending"
        )
    ).all()
    return {r for r in rows if r is not None}


def _is_due(row: tuple, hour: datetime, today: date, billed: dict[uuid.UUID, list[datetime]]) -> bool:
    (sub_id, _org, _cust, _ent, tz, started_at, created_at, ending_at, subscription_at, billing_time) = row[
        :10
    ]
    interval, charges_monthly, fixed_monthly = row[12], row[13], row[14]
    if started_at is None or local_date(started_at, tz) >= today:
        return False
    if created_at.date() > hour.date():
        return False
    if ending_at is not None and local_date(ending_at, tz) == today:
        return False
    if any(local_date(stamp, tz) == today for stamp in billed.get(sub_id, ())):
        return False
    return is_billing_day(
        today,
        check_interval(interval),
        check_billing_time(billing_time),
        local_date(subscription_at, tz),
        bool(charges_monthly),
        bool(fixed_monthly),
    )


def _due_rows(ctx: Ctx, chunk: list[tuple], hour: datetime) -> list[DueRow]:
    ids = [r[0] for r in chunk]
    billed = _billed_today(ctx, ids, hour)
    due = [r for r in chunk if _is_due(r, hour, local_date(hour, r[4]), billed)]
    successors = _pending_successors(ctx, [r[0] for r in due]) if due else set()
    return [DueRow(r[0], r[1], r[2], r[3], r[4], r[15], bool(r[10]), r[11], r[0] in successors) for r in due]


def _group_key(row: DueRow) -> tuple[object, ...]:
    base = (row.currency, row.entity_id, row.purchase_order_number)
    if row.pending_successor or not row.consolidate:
        return (*base, row.id)
    return base


def _unique_key(row: DueRow, day: date, group: tuple[object, ...]) -> str:
    key = f"bill:periodic:{row.customer_id}:{day.isoformat()}:{row.entity_id}:{row.currency}"
    if row.purchase_order_number:
        digest = hashlib.sha256(row.purchase_order_number.encode("utf-8")).hexdigest()[:16]
        key += f":po:{digest}"
    if len(group) == 4:
        key += f":{group[3]}"
    return key


def _customer_jobs(rows: Sequence[DueRow], hour: datetime) -> list[NewJob]:
    groups: dict[tuple[object, ...], list[DueRow]] = {}
    for row in rows:
        groups.setdefault(_group_key(row), []).append(row)
    jobs: list[NewJob] = []
    for group, members in groups.items():
        first = members[0]
        day = local_date(hour, first.timezone)
        payload = {
            "customer_id": str(first.customer_id),
            "timestamp": job_timestamp(hour),
            "items": [{"subscription_id": str(m.id), "reason": PERIODIC} for m in members],
        }
        jobs.append(
            NewJob(BILL_SUBSCRIPTIONS_JOB, payload, _unique_key(first, day, group), first.organization_id)
        )
    return jobs


def enqueue_periodic_billing(ctx: Ctx, hour: datetime) -> int:
    """Tick task: enqueue the billing jobs of every subscription whose billing day starts now
    (one multi-row insert per chunk of subscriptions, customers in order)."""
    timezones = timezones_starting_a_day(ctx, hour)
    if not timezones:
        return 0
    count = 0
    pending: list[DueRow] = []
    for chunk in _chunks(ctx, timezones):
        jobs: list[NewJob] = []
        for row in _due_rows(ctx, chunk, hour):
            if pending and pending[0].customer_id != row.customer_id:
                jobs += _customer_jobs(pending, hour)
                pending = []
            pending.append(row)
        count += enqueue_many(ctx, jobs)
    if pending:
        count += enqueue_many(ctx, _customer_jobs(pending, hour))
    return count


def _periodic_tick(ctx: Ctx, hour: datetime) -> None:
    enqueue_periodic_billing(ctx, hour)


def periodic_billing_tick_task() -> TickTask:
    return TickTask("billing.periodic", _periodic_tick)
