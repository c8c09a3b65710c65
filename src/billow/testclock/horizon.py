"""How far the test clock may jump without ticking: the next hour anything can fall due.

Moving the manual clock runs the scheduler at every hour boundary crossed (``advance_clock``). Most
of those ticks find nothing to do, yet each costs a few queries per task: a move across a year is
8,760 ticks. This module answers, after a tick (and its drain), the earliest hour boundary at which
the next tick could do anything, so the clock skips the hours in between.

Every bound below is a *lower bound* of the first hour ``h > after`` at which the task, run on the
database as it stands, would change anything (write a row, enqueue a job, send a webhook). The
proof of exactness is by induction over the skipped hours: at the first skipped hour nothing is
due, so its tick and its drain leave the database as it was, so the same holds at the next one.
A bound may be early (the clock then ticks an hour that hour-by-hour ticking also ticks, and
recomputes); it is never late. Each bound reuses the predicate of its task (``is_billing_day``,
``anniversary``, ``trial_of``, the unique keys of the jobs a task enqueues) and drops the
conditions that are not worth modelling, which can only make it earlier.

A tick task without a bound here (a new task) makes every hour due: the clock then ticks hour by
hour, as before. A bound that raises counts as "due at the next hour" too.

Assumption (true of every tz database zone today): the local date never goes backwards across an
hour boundary (a DST fall-back repeats hours of the same local day).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from billow.billing.models import Invoice
from billow.billing.periodic import active_subscriptions, timezone_column
from billow.customers.models import Customer
from billow.jobs.models import Job
from billow.jobs.queue import PENDING, RUNNING
from billow.jobs.scheduler import HOUR, TickTask, floor_hour
from billow.organizations.models import BillingEntity
from billow.pricing.coupons.models import Coupon
from billow.pricing.plans.models import Plan, UsageThreshold
from billow.settings import Settings
from billow.subscriptions.alerts import alert_key
from billow.subscriptions.facts import trial_of
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import is_billing_day, local_date
from billow.subscriptions.periods.kinds import check_billing_time, check_interval
from billow.subscriptions.periods.localtime import day_start_utc
from billow.wallets.models import RecurringTransactionRule, Wallet
from billow.wallets.recurring import anniversary

log = structlog.get_logger("billow.testclock")

# A bound is a lower bound of the first hour boundary > ``after`` at which the task could act
# (never earlier than the next hour boundary); ``None``: never, as things stand.
Bound = Callable[[Session, datetime, Settings], datetime | None]

# How far ahead calendar scans look; finding nothing, they answer the end of the scan (a valid
# lower bound: nothing is due before it).
_SCAN_DAYS = 400


def next_hour(after: datetime) -> datetime:
    return floor_hour(after) + HOUR


def _ceil_hour(moment: datetime) -> datetime:
    floored = floor_hour(moment)
    return floored if floored == moment else floored + HOUR


def _not_before(after: datetime, moment: datetime) -> datetime:
    """The first hour boundary ``h > after`` with ``h >= moment``."""
    return max(next_hour(after), _ceil_hour(moment))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def first_hour_on_local_day(after: datetime, day: date, tz: str) -> datetime:
    """The first hour boundary ``h > after`` whose local date in ``tz`` is ``day`` or later."""
    h = next_hour(after)
    if local_date(h, tz) >= day:
        return h
    guess = floor_hour(day_start_utc(day, tz)) - 3 * HOUR
    if guess > h and local_date(guess, tz) < day:
        h = guess
    while local_date(h, tz) < day:
        h += HOUR
    return h


def _timezone(customer_tz: str | None, entity_tz: str | None) -> str:
    """``subscriptions.facts.timezone_of``: customer → billing entity → UTC."""
    return customer_tz or entity_tz or "UTC"


def _existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    return set(session.scalars(select(Job.unique_key).where(Job.unique_key.in_(wanted))))


# --- the jobs queue (the drain after each tick) ---------------------------------------------------


def jobs_bound(session: Session, after: datetime) -> datetime | None:
    """The drain at hour ``h`` claims pending jobs with ``run_at <= h`` and running jobs whose lease
    ended before ``h`` (``jobs.queue.claim``)."""
    run_at = session.scalar(select(func.min(Job.run_at)).where(Job.status == PENDING))
    lease = session.scalar(select(func.min(Job.locked_until)).where(Job.status == RUNNING))
    found = []
    if run_at is not None:
        found.append(_not_before(after, run_at))
    if lease is not None:
        found.append(max(next_hour(after), floor_hour(lease) + HOUR))
    return min(found, default=None)


# --- coupons --------------------------------------------------------------------------------------


def coupons_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``terminate_expired_coupons``: ``expiration_at < hour``."""
    earliest = session.scalar(
        select(func.min(Coupon.expiration_at)).where(
            Coupon.status == "active", Coupon.expiration == "time_limit", Coupon.deleted_at.is_(None)
        )
    )
    return None if earliest is None else max(next_hour(after), floor_hour(earliest) + HOUR)


# --- subscriptions --------------------------------------------------------------------------------


def _with_timezones(stmt: Any) -> Any:
    return stmt.join(Customer, Customer.id == Subscription.customer_id).outerjoin(
        BillingEntity, BillingEntity.id == Customer.billing_entity_id
    )


def activation_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``activate_due_subscriptions``: pending, no previous subscription, local start date today or
    earlier."""
    columns = select(Subscription.subscription_at, Customer.timezone, BillingEntity.timezone)
    rows = session.execute(
        _with_timezones(columns).where(
            Subscription.status == "pending", Subscription.previous_subscription_id.is_(None)
        )
    ).all()
    found = []
    for subscription_at, customer_tz, entity_tz in rows:
        tz = _timezone(customer_tz, entity_tz)
        found.append(first_hour_on_local_day(after, local_date(subscription_at, tz), tz))
    return min(found, default=None)


def ending_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``terminate_ended_subscriptions``: active, ``ending_at`` falls on the tick's local date."""
    rows = session.execute(
        _with_timezones(select(Subscription.ending_at, Customer.timezone, BillingEntity.timezone)).where(
            Subscription.status == "active", Subscription.ending_at.is_not(None)
        )
    ).all()
    found = []
    nxt = next_hour(after)
    for ending_at, customer_tz, entity_tz in rows:
        tz = _timezone(customer_tz, entity_tz)
        day = local_date(ending_at, tz)
        if local_date(nxt, tz) > day:
            continue  # the day has passed: no later tick terminates it
        found.append(first_hour_on_local_day(after, day, tz))
    return min(found, default=None)


def trials_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``end_trials``: active, trial not marked ended, trial end at or before the tick."""
    rows = session.execute(
        select(Subscription, Plan)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(
            Subscription.status == "active",
            Subscription.trial_ended_at.is_(None),
            Plan.trial_period.is_not(None),
        )
    ).all()
    found = []
    for subscription, plan in rows:
        trial = trial_of(session, subscription, plan)
        if trial is not None:
            found.append(_not_before(after, trial.end))
    return min(found, default=None)


def alerts_bound(session: Session, after: datetime, settings: Settings) -> datetime | None:
    """``queue_termination_alerts``: on UTC day ``D``, subscriptions ending on ``D + n``; the job key
    holds ``D``, so once queued the rest of the day does nothing."""
    days = settings.termination_alert_days
    if not days:
        return None
    rows = session.execute(
        select(Subscription.id, Subscription.ending_at).where(
            Subscription.status == "active", Subscription.ending_at.is_not(None)
        )
    ).all()
    nxt = next_hour(after)
    today = nxt.date()
    found = []
    todays: dict[str, datetime] = {}
    for subscription_id, ending_at in rows:
        if ending_at is None:
            continue
        ending_day = ending_at.astimezone(UTC).date()
        for n in days:
            day = ending_day - timedelta(days=n)
            if day > today:
                found.append(_midnight(day))
            elif day == today:
                todays[alert_key(subscription_id, day.isoformat())] = nxt
    if todays:
        queued = _existing_keys(session, todays)
        if any(key not in queued for key in todays):
            found.append(nxt)
    return min(found, default=None)


# --- billing --------------------------------------------------------------------------------------


def periodic_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``enqueue_periodic_billing``: at the first hour of a local day that is a billing day
    (``is_billing_day``) of an active subscription (the task's own select and timezone rule:
    :func:`billow.billing.periodic.active_subscriptions`)."""
    rows = session.execute(
        active_subscriptions(
            timezone_column(),
            Subscription.subscription_at,
            Subscription.billing_time,
            Plan.interval,
            Plan.bill_charges_monthly,
            Plan.bill_fixed_charges_monthly,
        ).distinct()
    ).all()
    nxt = next_hour(after)
    found = []
    groups = {(tz, local_date(at, tz), bt, iv, bool(cm), bool(fm)) for tz, at, bt, iv, cm, fm in rows}
    for tz, anchor, billing_time, interval, charges_monthly, fixed_monthly in groups:
        first = local_date(nxt, tz)
        if first == local_date(nxt - HOUR, tz):
            first += timedelta(days=1)  # ``nxt`` is not the first hour of its local day
        chosen = first + timedelta(days=_SCAN_DAYS)
        for offset in range(_SCAN_DAYS):
            day = first + timedelta(days=offset)
            if is_billing_day(
                day,
                check_interval(interval),
                check_billing_time(billing_time),
                anchor,
                charges_monthly,
                fixed_monthly,
            ):
                chosen = day
                break
        found.append(first_hour_on_local_day(after, chosen, tz))
    return min(found, default=None)


def finalization_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``enqueue_due_drafts``: drafts whose expected finalization (else issuing) date is the tick's
    UTC date or earlier, one job per invoice and UTC day (its key)."""
    due = func.coalesce(Invoice.expected_finalization_date, Invoice.issuing_date)
    rows = session.execute(select(Invoice.id, due).where(Invoice.status == "draft")).all()
    nxt = next_hour(after)
    today = nxt.date()
    found = []
    todays: dict[str, datetime] = {}
    for invoice_id, day in rows:
        if day > today:
            found.append(_midnight(day))
        else:
            todays[f"bill:finalize:{invoice_id}:{today}"] = nxt
    if todays:
        queued = _existing_keys(session, todays)
        tomorrow = _midnight(today + timedelta(days=1))
        found.append(nxt if any(key not in queued for key in todays) else tomorrow)
    return min(found, default=None)


def lifetime_usage_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``billing.refresh_lifetime_usages`` enqueues a job per hour (its key holds the hour) for every
    active subscription on a plan with usage thresholds: any such subscription makes every hour due."""
    thresholds = select(UsageThreshold.plan_id).where(UsageThreshold.deleted_at.is_(None))
    exists = session.scalar(
        select(Subscription.id)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(
            Subscription.status == "active",
            Subscription.progressive_billing_disabled.is_(False),
            or_(Plan.id.in_(thresholds), Plan.parent_id.in_(thresholds)),
        )
        .limit(1)
    )
    return None if exists is None else next_hour(after)


def overdue_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``mark_overdue_invoices``: ``payment_due_date`` at midnight UTC is before the tick."""
    earliest = session.scalar(
        select(func.min(Invoice.payment_due_date)).where(
            Invoice.status == "finalized",
            Invoice.payment_status.in_(("pending", "failed")),
            Invoice.payment_overdue.is_(False),
            Invoice.payment_dispute_lost_at.is_(None),
        )
    )
    return None if earliest is None else max(next_hour(after), _midnight(earliest) + HOUR)


# --- wallets --------------------------------------------------------------------------------------


def wallet_expiry_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``enqueue_expired``: active wallets with ``expiration_at <= hour`` (one job ever per wallet, by
    key) and active recurring rules with ``expiration_at <= hour`` (terminated by the tick)."""
    nxt = next_hour(after)
    found = []
    late: dict[str, datetime] = {}
    wallets = select(Wallet.id, Wallet.expiration_at).where(
        Wallet.status == "active", Wallet.expiration_at.is_not(None)
    )
    for wallet_id, expiration_at in session.execute(wallets).all():
        if expiration_at is None:
            continue
        at = _ceil_hour(expiration_at)
        if at > after:
            found.append(max(nxt, at))
        else:
            late[f"wallets:expire:{wallet_id}"] = nxt
    if late and any(key not in _existing_keys(session, late) for key in late):
        found.append(nxt)
    rule_expiry = session.scalar(
        select(func.min(RecurringTransactionRule.expiration_at)).where(
            RecurringTransactionRule.status == "active", RecurringTransactionRule.expiration_at.is_not(None)
        )
    )
    if rule_expiry is not None:
        found.append(_not_before(after, rule_expiry))
    return min(found, default=None)


def interval_top_up_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``enqueue_interval_top_ups``: a local day that is an ``anniversary`` of the rule's anchor and not
    the wallet's creation day, one job per rule and day (its key)."""
    rows = session.execute(
        select(RecurringTransactionRule, Wallet, Customer.timezone, BillingEntity.timezone)
        .join(Wallet, Wallet.id == RecurringTransactionRule.wallet_id)
        .join(Customer, Customer.id == Wallet.customer_id)
        .outerjoin(BillingEntity, BillingEntity.id == Customer.billing_entity_id)
        .where(
            RecurringTransactionRule.status == "active",
            RecurringTransactionRule.trigger == "interval",
            Wallet.status == "active",
        )
    ).all()
    nxt = next_hour(after)
    found = []
    for rule, wallet, customer_tz, entity_tz in rows:
        tz = _timezone(customer_tz, entity_tz)
        anchor = local_date(rule.started_at or wallet.created_at, tz)
        created = local_date(wallet.created_at, tz)
        first = local_date(nxt, tz)
        chosen = first + timedelta(days=_SCAN_DAYS)
        for offset in range(_SCAN_DAYS):
            day = first + timedelta(days=offset)
            if day == created or not anniversary(rule.interval, anchor, day):
                continue
            if day == first and _existing_keys(session, [f"wallets:interval:{rule.id}:{day.isoformat()}"]):
                continue  # already queued today: the rest of the day does nothing
            chosen = day
            break
        found.append(first_hour_on_local_day(after, chosen, tz))
    return min(found, default=None)


def daily_refresh_bound(session: Session, after: datetime, _settings: Settings) -> datetime | None:
    """``enqueue_daily_refreshes``: customers with an active wallet, at hours whose local hour is 0."""
    rows = session.execute(
        select(Customer.timezone, BillingEntity.timezone)
        .outerjoin(BillingEntity, BillingEntity.id == Customer.billing_entity_id)
        .where(Customer.id.in_(select(Wallet.customer_id).where(Wallet.status == "active")))
        .distinct()
    ).all()
    nxt = next_hour(after)
    found = []
    for tz in {_timezone(customer_tz, entity_tz) for customer_tz, entity_tz in rows}:
        zone = ZoneInfo(tz)
        h = nxt
        limit = nxt + timedelta(hours=50)
        while h < limit and h.astimezone(zone).hour != 0:
            h += HOUR
        found.append(h)
    return min(found, default=None)


def build_bounds() -> dict[str, Bound]:
    """The bound of each tick task, by task name (``billow.runtime.build_tick_tasks``)."""
    return {
        "coupons.terminate_expired": coupons_bound,
        "subscriptions.activate_pending": activation_bound,
        "subscriptions.terminate_ended": ending_bound,
        "subscriptions.end_trials": trials_bound,
        "subscriptions.termination_alerts": alerts_bound,
        "billing.periodic": periodic_bound,
        "billing.finalize_drafts": finalization_bound,
        "billing.refresh_lifetime_usages": lifetime_usage_bound,
        "billing.mark_overdue_invoices": overdue_bound,
        "wallets.terminate_expired": wallet_expiry_bound,
        "wallets.interval_top_ups": interval_top_up_bound,
        "wallets.refresh_ongoing_balances": daily_refresh_bound,
    }


def next_due_hour(
    session: Session, tasks: Iterable[TickTask], bounds: dict[str, Bound], after: datetime, settings: Settings
) -> datetime | None:
    """The earliest hour boundary ``> after`` at which a tick (or the drain after it) could do
    anything; ``None`` when nothing ever falls due as things stand."""
    nxt = next_hour(after)
    best = jobs_bound(session, after)
    for task in tasks:
        if best is not None and best <= nxt:
            return nxt
        bound = bounds.get(task.name)
        if bound is None:
            return nxt
        try:
            found = bound(session, after, settings)
        except Exception as exc:  # the tick itself will meet it: tick hour by hour meanwhile
            log.warning("clock_bound_failed", task=task.name, error=str(exc))
            return nxt
        if found is not None:
            found = max(found, nxt)
            best = found if best is None else min(best, found)
    return best
