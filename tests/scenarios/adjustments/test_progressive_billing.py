"""Progressive billing through the public API and the test clock (billing.md §5.3, §8 Ex16,
Ex17): progressive invoices when usage crosses thresholds, their credit on the period-end and
termination invoices (before taxes), and recurring thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.billing.helpers import customer, drain, plan, start_clock, subscribe, terminate, tick_at
from tests.pricing.helpers import create_tax
from tests.scenarios.adjustments.helpers import of_type, units_plan, usage

pytestmark = pytest.mark.slow

_CHECK = timedelta(minutes=10)  # past the 5-minute debounce of the usage-threshold check


def _at(api: Any, runtime: Any, when: datetime, value: int) -> None:
    """Jump to ``when``, send ``value`` units, let the threshold check run (ten minutes on)."""
    tick_at(runtime, when)
    usage(api, when, value)
    tick_at(runtime, when + _CHECK)


def _ex16(api: Any, runtime: Any, **plan_fields: Any) -> None:
    start_clock(runtime, datetime(2022, 12, 1, 0, 30, tzinfo=UTC))
    customer(api)
    units_plan(api, amount_cents=3100, usage_thresholds=[{"amount_cents": 20000}], **plan_fields)
    subscribe(api, subscription_at="2022-12-01T00:00:00Z")


def _totals(invoice: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        invoice["fees_amount_cents"],
        invoice["progressive_billing_credit_amount_cents"],
        invoice["taxes_amount_cents"],
        invoice["total_amount_cents"],
    )


def test_ex16_threshold_invoice_then_its_credit_on_the_period_invoice(api, runtime):
    _ex16(api, runtime)
    _at(api, runtime, datetime(2022, 12, 6, 10, tzinfo=UTC), 1_000_000)
    [progressive] = of_type(api, "progressive_billing")
    assert (progressive["status"], _totals(progressive)) == ("finalized", (20000, 0, 0, 20000))
    _at(api, runtime, datetime(2022, 12, 16, 10, tzinfo=UTC), 1_000_000)
    assert len(of_type(api, "progressive_billing")) == 1
    tick_at(runtime, datetime(2023, 1, 1, tzinfo=UTC))
    [period] = of_type(api, "subscription")
    assert _totals(period) == (43100, 20000, 0, 23100)
    assert [c["item"]["type"] for c in period["credits"]] == ["invoice"]
    assert period["credits"][0]["amount_cents"] == 20000


def test_ex16_termination_takes_the_credit(api, runtime):
    _ex16(api, runtime)
    _at(api, runtime, datetime(2022, 12, 6, 10, tzinfo=UTC), 1_000_000)
    tick_at(runtime, datetime(2022, 12, 18, tzinfo=UTC))
    terminate(api)
    drain(api, runtime)
    [termination] = of_type(api, "subscription")
    # 18 days of 31 × 3100 = 1800, usage 20000 already billed progressively
    assert _totals(termination) == (21800, 20000, 0, 1800)


def test_ex16_with_a_tax_the_credit_comes_off_before_taxes(api, runtime):
    _ex16(api, runtime)
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    _at(api, runtime, datetime(2022, 12, 6, 10, tzinfo=UTC), 1_000_000)
    [progressive] = of_type(api, "progressive_billing")
    assert _totals(progressive) == (20000, 0, 4000, 24000)
    _at(api, runtime, datetime(2022, 12, 16, 10, tzinfo=UTC), 1_000_000)
    tick_at(runtime, datetime(2023, 1, 1, tzinfo=UTC))
    [period] = of_type(api, "subscription")
    # (43100 − 20000) × 20 % = 4620
    assert _totals(period) == (43100, 20000, 4620, 27720)
    [charge] = [f for f in period["fees"] if f["item"]["type"] == "charge"]
    assert (charge["amount_cents"], charge["precise_coupons_amount_cents"]) == (40000, "20000.0")
    assert charge["taxes_amount_cents"] == 4000


def test_ex16_a_single_threshold_passed_in_an_earlier_period_bills_nothing_progressively(api, runtime):
    _ex16(api, runtime)
    _at(api, runtime, datetime(2022, 12, 6, 10, tzinfo=UTC), 1_000_000)
    _at(api, runtime, datetime(2022, 12, 16, 10, tzinfo=UTC), 1_000_000)
    tick_at(runtime, datetime(2023, 1, 1, tzinfo=UTC))
    _at(api, runtime, datetime(2023, 1, 6, 10, tzinfo=UTC), 1_000_000)
    _at(api, runtime, datetime(2023, 1, 16, 10, tzinfo=UTC), 2_000_000)
    tick_at(runtime, datetime(2023, 2, 1, tzinfo=UTC))
    assert len(of_type(api, "progressive_billing")) == 1
    assert [i["total_amount_cents"] for i in of_type(api, "subscription")] == [23100, 63100]


def test_ex17_fixed_and_recurring_thresholds(api, runtime):
    start_clock(runtime, datetime(2024, 3, 1, 0, 30, tzinfo=UTC))
    customer(api)
    thresholds = [
        {"amount_cents": 200},
        {"amount_cents": 500},
        {"amount_cents": 700},
        {"amount_cents": 1000, "recurring": True},
    ]
    units_plan(api, amount_cents=3100, usage_thresholds=thresholds)
    subscribe(api, subscription_at="2024-03-01T00:00:00Z")
    for day, value in ((5, 11000), (10, 11000), (15, 11000), (20, 11000), (25, 110000), (27, 110000)):
        _at(api, runtime, datetime(2024, 3, day, 10, tzinfo=UTC), value)
    progressive = of_type(api, "progressive_billing")
    assert [i["total_amount_cents"] for i in progressive] == [220, 440, 220, 2200, 2200]
    assert [i["fees_amount_cents"] for i in progressive] == [220, 660, 880, 3080, 5280]
    tick_at(runtime, datetime(2024, 4, 1, tzinfo=UTC))
    [period] = of_type(api, "subscription")
    assert _totals(period) == (8380, 5280, 0, 3100)
    _at(api, runtime, datetime(2024, 4, 3, 10, tzinfo=UTC), 110000)
    assert [i["total_amount_cents"] for i in of_type(api, "progressive_billing")][-1] == 2200
    assert len(of_type(api, "progressive_billing")) == 6


def test_a_plan_without_thresholds_never_bills_progressively(api, runtime):
    start_clock(runtime, datetime(2024, 3, 1, 0, 30, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=100)
    subscribe(api, subscription_at="2024-03-01T00:00:00Z")
    tick_at(runtime, datetime(2024, 4, 1, tzinfo=UTC))
    assert of_type(api, "progressive_billing") == []
