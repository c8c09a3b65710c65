"""Pure wallet computations: credits ↔ money, ongoing-usage allocation, recurring amounts and
anniversaries, default codes, metadata rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billow.billing.math.wallets import Wallet as WalletView
from billow.wallets.allocation import UsageAmount, allocate_ongoing_usage
from billow.wallets.credits import (
    credit_from_cents,
    credit_of,
    credits_of_cents,
    floor_credits,
    rounds_to_zero,
)
from billow.wallets.models import RecurringTransactionRule, Wallet
from billow.wallets.recurring import anniversary, granted_credits_of, paid_credits_of
from billow.wallets.validation import credits_value, metadata_error
from billow.wallets.wallets import default_code

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_credit_of_rounds_money_and_rederives_credits():
    credit = credit_of(floor_credits(D("10.123456")), D("1"), "EUR")
    assert (credit.amount, credit.amount_cents, credit.credit_amount) == (D("10.12"), 1012, D("10.12000"))
    thirds = credit_of(D("10"), D("0.333"), "EUR")
    assert (thirds.amount, thirds.amount_cents, thirds.credit_amount) == (D("3.33"), 333, D("10.00000"))


def test_voided_credits_keep_the_requested_amount():
    credit = credit_of(D("1.23456"), D("1"), "EUR", invoiceable=False)
    assert (credit.amount_cents, credit.credit_amount) == (123, D("1.23456"))


def test_zero_decimal_currency_and_consumption_credits_are_floored():
    assert credit_of(D("10"), D("1.5"), "JPY").amount_cents == 15
    assert credit_from_cents(1000, D("3"), "EUR").credit_amount == D("3.33333")
    assert credits_of_cents(2000, D("3"), "EUR") == D("6.66667")


@pytest.mark.parametrize(
    ("credits", "rate", "zero"),
    [
        ("0.001", "1", True),
        ("0.005", "1", False),
        ("0.004", "1", True),
        ("0", "1", False),
        (None, "1", False),
    ],
)
def test_rounds_to_zero(credits, rate, zero):
    assert rounds_to_zero(D(credits) if credits else None, D(rate), "EUR") is zero


def _view(
    wallet_id: str, balance: int, *, metrics: frozenset[str] = frozenset(), priority: int = 50
) -> WalletView:
    return WalletView(
        id=wallet_id,
        balance_cents=balance,
        rate_amount=D(1),
        currency="EUR",
        created_at=T0,
        priority=priority,
        billable_metric_ids=metrics,
    )


def test_allocation_fills_wallets_in_order_and_the_last_absorbs_the_rest():
    wallets = [_view("a", 300), _view("b", 500)]
    usage = [UsageAmount("charge", "m1", "EUR", D(600)), UsageAmount("subscription", None, "EUR", D(400))]
    assert allocate_ongoing_usage(wallets, usage, frozenset()) == {"a": 300, "b": 700}


def test_allocation_respects_limits_and_threshold_wallets_absorb_everything():
    limited = _view("limited", 1000, metrics=frozenset({"m1"}), priority=1)
    other = _view("other", 100)
    usage = [UsageAmount("charge", "m1", "EUR", D(300)), UsageAmount("charge", "m2", "EUR", D(250))]
    assert allocate_ongoing_usage([limited, other], usage, frozenset()) == {"limited": 300, "other": 250}
    usage = [UsageAmount("charge", "m3", "EUR", D(800))]
    assert allocate_ongoing_usage([_view("t", 100), other], usage, frozenset({"t"})) == {"t": 800, "other": 0}


def test_allocation_nets_negative_keys_against_the_budget():
    usage = [UsageAmount("charge", "m1", "EUR", D(500)), UsageAmount("charge", "m2", "EUR", D(-200))]
    assert allocate_ongoing_usage([_view("a", 1000)], usage, frozenset()) == {"a": 300}


def _wallet(**fields: object) -> Wallet:
    base: dict[str, object] = {
        "rate_amount": D(1),
        "currency": "EUR",
        "paid_top_up_min_amount_cents": None,
        "paid_top_up_max_amount_cents": None,
    }
    base.update(fields)
    return Wallet(**base)


def _rule(**fields: object) -> RecurringTransactionRule:
    base: dict[str, object] = {
        "trigger": "threshold",
        "method": "fixed",
        "paid_credits": D(0),
        "granted_credits": D(0),
        "threshold_credits": D(0),
        "target_ongoing_balance": None,
        "grants_target_top_up": None,
        "ignore_paid_top_up_limits": False,
    }
    base.update(fields)
    return RecurringTransactionRule(**base)


def test_fixed_threshold_multiplies_paid_credits_to_cover_the_gap_within_the_maximum():
    rule = _rule(paid_credits=D(10), threshold_credits=D(50))
    assert paid_credits_of(rule, _wallet(), D(45), D(0)) == D(10)
    assert paid_credits_of(rule, _wallet(), D(5), D(0)) == D(50)
    assert paid_credits_of(rule, _wallet(paid_top_up_max_amount_cents=3000), D(5), D(0)) == D(30)
    assert paid_credits_of(_rule(paid_credits=D(10), trigger="interval"), _wallet(), D(5), D(0)) == D(10)


def test_target_rule_tops_up_the_gap_paid_or_granted():
    rule = _rule(method="target", target_ongoing_balance=D(100), grants_target_top_up=False)
    assert paid_credits_of(rule, _wallet(), D(40), D(0)) == D(60)
    assert granted_credits_of(rule, _wallet(), D(40)) == D(0)
    assert paid_credits_of(rule, _wallet(paid_top_up_min_amount_cents=10000), D(40), D(0)) == D(100)
    granting = _rule(method="target", target_ongoing_balance=D(100), grants_target_top_up=True)
    assert (
        paid_credits_of(granting, _wallet(), D(40), D(0)),
        granted_credits_of(granting, _wallet(), D(40)),
    ) == (
        D(0),
        D(60),
    )
    assert paid_credits_of(rule, _wallet(), D(120), D(0)) == D(0)


@pytest.mark.parametrize(
    ("interval", "anchor", "today", "due"),
    [
        ("weekly", date(2024, 1, 1), date(2024, 1, 8), True),
        ("weekly", date(2024, 1, 1), date(2024, 1, 9), False),
        ("monthly", date(2024, 1, 31), date(2024, 2, 29), True),
        ("monthly", date(2024, 1, 31), date(2024, 2, 28), False),
        ("monthly", date(2024, 1, 15), date(2024, 3, 15), True),
        ("quarterly", date(2024, 1, 15), date(2024, 4, 15), True),
        ("quarterly", date(2024, 1, 15), date(2024, 3, 15), False),
        ("quarterly", date(2024, 3, 31), date(2024, 6, 30), True),
        ("semiannual", date(2024, 2, 10), date(2024, 8, 10), True),
        ("semiannual", date(2024, 2, 10), date(2024, 5, 10), False),
        ("yearly", date(2024, 2, 29), date(2025, 2, 28), True),
        ("yearly", date(2024, 3, 1), date(2025, 3, 1), True),
        ("yearly", date(2024, 3, 1), date(2025, 4, 1), False),
    ],
)
def test_anniversaries(interval, anchor, today, due):
    assert anniversary(interval, anchor, today) is due


def test_default_code_parameterizes_the_name():
    assert default_code("Prepaid Crédits — 2024!") == "prepaid_credits_2024"
    assert default_code(None) == "default"
    assert default_code("  ") == "default"


def test_credit_values_and_metadata_rules():
    assert credits_value("10.5") == D("10.5")
    assert credits_value(10) == D(10)
    assert str(credits_value("-1")) == "INVALID"
    assert str(credits_value("abc")) == "INVALID"
    assert metadata_error([{"key": "a", "value": "b"}]) is None
    assert metadata_error("x") == "invalid_type"
    assert metadata_error([{"key": "a"}]) == "invalid_key_value_pair"
    assert metadata_error([{"key": "a" * 21, "value": "b"}]) == "key_too_long"
    assert metadata_error([{"key": str(i), "value": "v"} for i in range(6)]) == "too_many_keys"
    assert metadata_error([{"key": str(i), "value": "v"} for i in range(15)], max_keys=15) is None
