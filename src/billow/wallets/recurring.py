"""Recurring top-ups: interval rules on the hourly tick, threshold rules after each ongoing
balance refresh (billing.md §6.5).

Interval: due on the anniversary of the rule's ``started_at`` (else the wallet's creation) in the
customer's timezone — same weekday (weekly); same day of month, the month's last day standing for
the days it lacks (monthly, and every 3rd/6th month for quarterly/semiannual); same day and month,
28 February standing for the 29th (yearly) — never on the wallet's creation day, at most once a
day (``wallets.interval_top_up`` jobs unique per rule and local day).

Threshold: when the wallet's ``credits_ongoing_balance`` is at or below ``threshold_credits``
and its pending top-ups do not lift it above. ``fixed``: ``paid_credits`` (times ``⌊gap / paid⌋
+ 1`` when the gap exceeds one top-up, capped by the paid maximum) plus ``granted_credits``;
``target``: the gap to ``target_ongoing_balance`` (paid, at least the paid minimum; or granted
with ``grants_target_top_up``).
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import select

from billow.core.money import ZERO
from billow.customers.models import Customer
from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.jobs.registry import HandlerResult
from billow.subscriptions.facts import customer_timezone
from billow.subscriptions.periods import local_date
from billow.wallets.credits import credit_from_cents
from billow.wallets.models import RecurringTransactionRule, Wallet, WalletTransaction
from billow.wallets.queries import active_rules
from billow.wallets.transactions import TopUp, create_transactions

INTERVAL_TOP_UP_JOB = "wallets.interval_top_up"


def _min_credits(wallet: Wallet) -> Decimal | None:
    cents = wallet.paid_top_up_min_amount_cents
    return (
        None if cents is None else credit_from_cents(cents, wallet.rate_amount, wallet.currency).credit_amount
    )


def _max_credits(wallet: Wallet) -> Decimal | None:
    cents = wallet.paid_top_up_max_amount_cents
    return (
        None if cents is None else credit_from_cents(cents, wallet.rate_amount, wallet.currency).credit_amount
    )


def _target_gap(rule: RecurringTransactionRule, wallet: Wallet, ongoing: Decimal) -> Decimal:
    target = rule.target_ongoing_balance or ZERO
    if ongoing >= target:
        return ZERO
    gap = target - ongoing
    if rule.grants_target_top_up:
        return gap
    minimum = None if rule.ignore_paid_top_up_limits else _min_credits(wallet)
    return max(gap, minimum) if minimum is not None else gap


def paid_credits_of(
    rule: RecurringTransactionRule, wallet: Wallet, ongoing: Decimal, pending: Decimal
) -> Decimal:
    if rule.method == "target":
        return ZERO if rule.grants_target_top_up else _target_gap(rule, wallet, ongoing)
    if rule.trigger != "threshold" or rule.paid_credits == 0:
        return rule.paid_credits
    gap = rule.threshold_credits - ongoing - rule.granted_credits - pending
    if gap < rule.paid_credits:
        return rule.paid_credits
    amount = rule.paid_credits * ((gap / rule.paid_credits).to_integral_value(rounding=ROUND_FLOOR) + 1)
    maximum = None if rule.ignore_paid_top_up_limits else _max_credits(wallet)
    return min(amount, maximum) if maximum is not None else amount


def granted_credits_of(rule: RecurringTransactionRule, wallet: Wallet, ongoing: Decimal) -> Decimal:
    if rule.method == "target":
        return _target_gap(rule, wallet, ongoing) if rule.grants_target_top_up else ZERO
    return rule.granted_credits


def _top_up(rule: RecurringTransactionRule, paid: Decimal, granted: Decimal, source: str) -> TopUp:
    return TopUp(
        paid_credits=paid,
        granted_credits=granted,
        source=source,
        invoice_requires_successful_payment=rule.invoice_requires_successful_payment,
        metadata=list(rule.transaction_metadata or []),
        name=rule.transaction_name,
        ignore_paid_top_up_limits=rule.method == "target" or rule.ignore_paid_top_up_limits,
        purchase_order_number=rule.purchase_order_number,
    )


def _pending_credits(ctx: Ctx, wallet: Wallet) -> Decimal:
    values = ctx.session.scalars(
        select(WalletTransaction.credit_amount).where(
            WalletTransaction.wallet_id == wallet.id, WalletTransaction.status == "pending"
        )
    ).all()
    return sum(values, ZERO)


def top_up_below_threshold(
    ctx: Ctx, wallet: Wallet, *, state_changed: bool = True
) -> list[WalletTransaction]:
    """After a refresh of the (locked) wallet: its threshold rule's top-up, when it is due."""
    if not state_changed or wallet.status != "active":
        return []
    rule = next((r for r in active_rules(ctx, wallet.id) if r.trigger == "threshold"), None)
    if rule is None:
        return []
    ongoing = wallet.credits_ongoing_balance
    if ongoing > rule.threshold_credits:
        return []
    pending = _pending_credits(ctx, wallet)
    if pending + ongoing > rule.threshold_credits:
        return []
    paid = paid_credits_of(rule, wallet, ongoing, pending)
    granted = granted_credits_of(rule, wallet, ongoing)
    if paid <= 0 and granted <= 0:
        return []
    return create_transactions(ctx, wallet, _top_up(rule, paid, granted, "threshold"))


# --------------------------------------------------------------------------- interval


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _day_matches(anchor: date, today: date) -> bool:
    if today.day == _last_day(today):
        return anchor.day >= today.day
    return anchor.day == today.day


def anniversary(interval: str | None, anchor: date, today: date) -> bool:
    """Whether ``today`` is an anniversary of ``anchor`` for ``interval``."""
    if interval == "weekly":
        return anchor.isoweekday() == today.isoweekday()
    if interval == "monthly":
        return _day_matches(anchor, today)
    if interval in ("quarterly", "semiannual"):
        step = 3 if interval == "quarterly" else 6
        return (today.month - anchor.month) % step == 0 and _day_matches(anchor, today)
    if interval == "yearly":
        if anchor.month != today.month:
            return False
        if today.month == 2 and today.day == 28 and _last_day(today) == 28:
            return anchor.day in (28, 29)
        return anchor.day == today.day
    return False


def interval_due(rule: RecurringTransactionRule, wallet: Wallet, timezone: str, now: datetime) -> date | None:
    """The local day on which ``rule`` tops up at ``now``, or ``None``."""
    anchor = rule.started_at or wallet.created_at
    if anchor > now or (rule.expiration_at is not None and rule.expiration_at <= now):
        return None
    today = local_date(now, timezone)
    if local_date(wallet.created_at, timezone) == today:
        return None
    return today if anniversary(rule.interval, local_date(anchor, timezone), today) else None


def enqueue_interval_top_ups(ctx: Ctx, hour: datetime) -> int:
    """Tick: one job per interval rule due today (local day), once."""
    rows = ctx.session.execute(
        select(RecurringTransactionRule, Wallet, Customer)
        .join(Wallet, Wallet.id == RecurringTransactionRule.wallet_id)
        .join(Customer, Customer.id == Wallet.customer_id)
        .where(
            RecurringTransactionRule.status == "active",
            RecurringTransactionRule.trigger == "interval",
            Wallet.status == "active",
        )
    ).all()
    count = 0
    for rule, wallet, customer in rows:
        day = interval_due(rule, wallet, customer_timezone(ctx.session, customer), hour)
        if day is None:
            continue
        octx = replace(ctx, organization_id=wallet.organization_id)
        if enqueue(
            octx,
            INTERVAL_TOP_UP_JOB,
            {"rule_id": str(rule.id), "day": day.isoformat()},
            unique_key=f"wallets:interval:{rule.id}:{day.isoformat()}",
        ):
            count += 1
    return count


def _applied_on(ctx: Ctx, wallet: Wallet, timezone: str, day: date) -> bool:
    created = ctx.session.scalars(
        select(WalletTransaction.created_at)
        .where(
            WalletTransaction.wallet_id == wallet.id,
            WalletTransaction.source == "interval",
            WalletTransaction.transaction_type == "inbound",
        )
        .order_by(WalletTransaction.created_at.desc())
        .limit(5)
    ).all()
    return any(local_date(at, timezone) == day for at in created)


def interval_top_up(ctx: Ctx, rule_id: uuid.UUID, day: date) -> list[WalletTransaction]:
    rule = ctx.session.scalar(
        select(RecurringTransactionRule).where(
            RecurringTransactionRule.id == rule_id, RecurringTransactionRule.organization_id == ctx.org_id
        )
    )
    if rule is None or rule.status != "active":
        return []
    wallet = ctx.session.get(Wallet, rule.wallet_id)
    if wallet is None or wallet.status != "active":
        return []
    customer = ctx.session.get(Customer, wallet.customer_id)
    assert customer is not None
    if _applied_on(ctx, wallet, customer_timezone(ctx.session, customer), day):
        return []
    ongoing = wallet.credits_ongoing_balance
    paid = paid_credits_of(rule, wallet, ongoing, ZERO)
    granted = granted_credits_of(rule, wallet, ongoing)
    if paid <= 0 and granted <= 0:
        return []
    return create_transactions(ctx, wallet, _top_up(rule, paid, granted, "interval"))


def interval_top_up_handler() -> Callable[[Ctx, dict[str, Any]], HandlerResult]:
    def handler(ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
        interval_top_up(ctx, uuid.UUID(str(payload["rule_id"])), date.fromisoformat(str(payload["day"])))
        return None

    return handler
