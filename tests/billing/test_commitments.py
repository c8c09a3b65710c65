"""Minimum commitment true-ups (billing.md §5.1, §8 Ex11 and Ex12)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.billing.helpers import (
    customer,
    drain,
    fee_of,
    invoices,
    plan,
    start_clock,
    subscribe,
    terminate,
    tick_at,
)

COMMITMENT = {"amount_cents": 1_000_000}


def _commitment(invoice: dict) -> int | None:
    fees = [f for f in invoice["fees"] if f["item"]["type"] == "commitment"]
    return fees[0]["amount_cents"] if fees else None


@pytest.mark.parametrize(
    ("interval", "billing_time", "subscribed", "billed", "true_up"),
    [
        (
            "weekly",
            "calendar",
            datetime(2023, 2, 1, 9, tzinfo=UTC),
            datetime(2023, 2, 6, tzinfo=UTC),
            642_857,
        ),
        (
            "weekly",
            "anniversary",
            datetime(2023, 2, 1, 9, tzinfo=UTC),
            datetime(2023, 2, 8, tzinfo=UTC),
            900_000,
        ),
        (
            "monthly",
            "calendar",
            datetime(2023, 2, 4, 9, tzinfo=UTC),
            datetime(2023, 3, 1, tzinfo=UTC),
            803_571,
        ),
        (
            "monthly",
            "anniversary",
            datetime(2023, 2, 4, 9, tzinfo=UTC),
            datetime(2023, 3, 4, tzinfo=UTC),
            900_000,
        ),
        (
            "quarterly",
            "calendar",
            datetime(2023, 2, 4, 9, tzinfo=UTC),
            datetime(2023, 4, 1, tzinfo=UTC),
            560_000,
        ),
        (
            "yearly",
            "calendar",
            datetime(2022, 2, 1, 9, tzinfo=UTC),
            datetime(2023, 1, 1, tzinfo=UTC),
            823_561,
        ),
    ],
)
def test_ex11_commitment_in_arrears(api, runtime, interval, billing_time, subscribed, billed, true_up):
    start_clock(runtime, subscribed)
    customer(api)
    plan(api, interval=interval, amount_cents=100_000, minimum_commitment=COMMITMENT)
    subscribe(api, billing_time=billing_time)
    drain(api, runtime)
    tick_at(runtime, billed)
    [invoice] = invoices(api)
    assert _commitment(invoice) == true_up
    fee = fee_of(invoice, "commitment")
    assert fee["item"]["invoice_display_name"] == "Minimum commitment"
    assert fee["units"] == "1.0"
    assert invoice["fees_amount_cents"] == sum(f["amount_cents"] for f in invoice["fees"])


def test_ex11_commitment_below_the_fees_adds_nothing(api, runtime):
    start_clock(runtime, datetime(2023, 2, 4, 9, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=100_000, minimum_commitment={"amount_cents": 1, "invoice_display_name": "Floor"})
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2023, 3, 1, tzinfo=UTC))
    [invoice] = invoices(api)
    assert _commitment(invoice) is None


def test_ex12_commitment_in_advance_reconciles_the_previous_period(api, runtime):
    start_clock(runtime, datetime(2023, 2, 1, 9, tzinfo=UTC))
    customer(api)
    plan(api, interval="weekly", amount_cents=100_000, pay_in_advance=True, minimum_commitment=COMMITMENT)
    subscribe(api)
    drain(api, runtime)
    [first] = invoices(api)
    assert _commitment(first) is None
    assert first["fees_amount_cents"] == 71_429
    tick_at(runtime, datetime(2023, 2, 6, tzinfo=UTC))
    assert _commitment(invoices(api)[-1]) == 642_857
    commitment = fee_of(invoices(api)[-1], "commitment")
    assert "from_date" not in commitment
    tick_at(runtime, datetime(2023, 2, 13, tzinfo=UTC))
    assert _commitment(invoices(api)[-1]) == 900_000
    tick_at(runtime, datetime(2023, 2, 15, 10, tzinfo=UTC))
    terminate(api)
    drain(api, runtime)
    last = invoices(api)[-1]
    assert last["billing_periods"][0]["invoicing_reason"] == "subscription_terminating"
    assert _commitment(last) == 328_571
    assert last["fees_amount_cents"] == 328_571
