"""Minimum commitment true-up (billing.md §5.1, Ex11, Ex12) and spending minimum (§5.2, Ex10)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billow.billing.math import (
    BilledFee,
    minimum_commitment_true_up,
    prorated_commitment_amount_cents,
    spending_minimum_true_up,
)
from billow.core.money import round_half_up

D = Decimal
COMMITMENT = 1_000_000
PLAN = 100_000


def plan_fee(days: int, total: int) -> BilledFee:
    precise = D(PLAN) * days / total
    return BilledFee(
        amount_cents=int(precise.quantize(D(1), rounding="ROUND_HALF_UP")), precise_amount_cents=precise
    )


@pytest.mark.parametrize(
    ("days_billed", "days_total", "commitment", "true_up"),
    [
        (5, 7, 714286, 642857),  # weekly calendar, sub 2023-02-01 billed 02-06
        (25, 28, 892857, 803571),  # monthly calendar, sub 2023-02-04 billed 03-01
        (56, 90, 622222, 560000),  # quarterly calendar
        (334, 365, 915068, 823561),  # yearly calendar, sub 2022-02-01 billed 2023-01-01
        (7, 7, 1_000_000, 900000),  # weekly anniversary
        (31, 31, 1_000_000, 900000),  # monthly anniversary
    ],
)
def test_ex11_in_arrears(days_billed: int, days_total: int, commitment: int, true_up: int) -> None:
    result = minimum_commitment_true_up(
        COMMITMENT, days_billed, days_total, [plan_fee(days_billed, days_total)]
    )
    assert result.commitment_amount_cents == commitment
    assert result.amount_cents == true_up
    assert result.due


def test_ex11_commitment_of_one_cent_gives_no_fee() -> None:
    result = minimum_commitment_true_up(1, 5, 7, [plan_fee(5, 7)])
    assert (result.amount_cents, result.due, result.precise_amount_cents) == (0, False, D(0))


def test_ex11_mixed_fees() -> None:
    # plan 10000 (2 of 29 days → 690) + arrears, in-advance and recurring in-advance charges of 1000
    fees = [BilledFee(690, D(10000) * 2 / 29), BilledFee(1000), BilledFee(1000), BilledFee(1000)]
    result = minimum_commitment_true_up(COMMITMENT, 2, 29, fees)
    assert result.commitment_amount_cents == 68966
    assert result.amount_cents == 65276
    assert round_half_up(result.precise_amount_cents, 10) == D("65276.3448275862")


@pytest.mark.parametrize(
    ("days_billed", "fees", "true_up"),
    [
        (5, [plan_fee(5, 7)], 642857),  # 02-06 invoice reconciles 02-01..02-05
        (7, [BilledFee(PLAN)], 900000),  # 02-13 invoice
        (3, [BilledFee(PLAN)], 328571),  # terminated 02-15T10:00: 3/7 × 1e6 − 100000
    ],
)
def test_ex12_in_advance(days_billed: int, fees: list[BilledFee], true_up: int) -> None:
    assert minimum_commitment_true_up(COMMITMENT, days_billed, 7, fees).amount_cents == true_up


def test_zero_commitment_and_bad_period() -> None:
    assert minimum_commitment_true_up(0, 5, 7, []).amount_cents == 0
    with pytest.raises(ValueError):
        prorated_commitment_amount_cents(COMMITMENT, 1, 0)


def test_ex10_spending_minimum() -> None:
    result = spending_minimum_true_up(1000, 28, 25, [BilledFee(800)])
    assert result is not None
    assert result.amount_cents == 93  # 1000/28 × 25 − 800 = 92.86
    assert round_half_up(result.precise_amount_cents, 10) == D("92.8571428571")


def test_ex10_spending_minimum_with_filters() -> None:
    result = spending_minimum_true_up(10000, 28, 25, [BilledFee(0), BilledFee(2000), BilledFee(5000)])
    assert result is not None and result.amount_cents == 1929


def test_spending_minimum_met_or_v33() -> None:
    assert spending_minimum_true_up(1000, 28, 25, [BilledFee(900)]) is None
    full = spending_minimum_true_up(1000, 31, 31, [BilledFee(700)])
    assert full is not None and full.amount_cents == 300
    half = spending_minimum_true_up(1000, 31, 15, [BilledFee(200)])
    assert half is not None and half.amount_cents == 284
    with pytest.raises(ValueError):
        spending_minimum_true_up(1000, 0, 1, [])
