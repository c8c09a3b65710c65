"""Coupons and taxes on one invoice billing several subscriptions, through the public API and the
test clock (billing.md §6.1, §6.3, §4.6): a plan-limited coupon then an unlimited percentage one
spread over the fees of two subscriptions, and invoice taxes rounded once from unrounded per-fee
amounts — a cent away from the sum of the fees' rounded taxes, either way."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.billing.coupon_helpers import applied_coupons, apply, coupon, events, metric
from tests.billing.helpers import customer, invoices, plan, start_clock, subscribe, tick_at
from tests.pricing.helpers import create_tax

pytestmark = pytest.mark.slow

_BILLING_DAY = datetime(2024, 2, 1, tzinfo=UTC)


def _fees(invoice: dict[str, Any]) -> list[tuple[str, str, int, str, int]]:
    return sorted(
        (
            f["external_subscription_id"],
            f["item"]["type"],
            f["amount_cents"],
            f["precise_coupons_amount_cents"],
            f["taxes_amount_cents"],
        )
        for f in invoice["fees"]
    )


def _totals(invoice: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (
        invoice["fees_amount_cents"],
        invoice["coupons_amount_cents"],
        invoice["sub_total_excluding_taxes_amount_cents"],
        invoice["taxes_amount_cents"],
        invoice["total_amount_cents"],
    )


def test_plan_limited_then_percentage_coupon_over_two_subscriptions(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api)
    bm = metric(api, "calls")
    plan(api, "a", amount_cents=3333)
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "1.11"},
    }
    plan(api, "b", amount_cents=6667, charges=[charge])
    subscribe(api, "a", external_id="sub_1", subscription_at="2024-01-01T00:00:00Z")
    subscribe(api, "b", external_id="sub_2", subscription_at="2024-01-01T00:00:00Z")
    coupon(api, "ten", coupon_type="percentage", percentage_rate="10", amount_currency=None)
    coupon(api, "b_only", amount_cents=1000, applies_to={"plan_codes": ["b"]})
    apply(api, "ten")
    apply(api, "b_only")
    events(api, "calls", datetime(2024, 1, 10, tzinfo=UTC), 3, sub="sub_2")
    tick_at(runtime, _BILLING_DAY)
    [invoice] = invoices(api)
    assert [(c["item"]["code"], c["amount_cents"]) for c in invoice["credits"]] == [
        ("b_only", 1000),
        ("ten", 933),
    ]
    # b_only on sub_2's fees pro rata (6667, 333 of 7000), then 10 % of 9333 = 933 over the rest.
    assert _fees(invoice) == [
        ("sub_1", "subscription", 3333, "333.19286", 600),
        ("sub_2", "charge", 333, "76.10511", 51),
        ("sub_2", "subscription", 6667, "1523.70202", 1029),
    ]
    assert _totals(invoice) == (10333, 1933, 8400, 1680, 10080)
    shares = sum(Decimal(f["precise_coupons_amount_cents"]) for f in invoice["fees"])
    assert shares == Decimal("1932.99999")
    assert {c: a["status"] for c, a in applied_coupons(api).items()} == {
        "ten": "terminated",
        "b_only": "terminated",
    }


def _three_five_cent_subscriptions(api: Any, runtime: Any) -> None:
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    create_tax(api, "vat", "10.0", applied_to_organization=True)
    customer(api)
    plan(api, amount_cents=5)
    for n in (1, 2, 3):
        subscribe(api, external_id=f"sub_{n}", subscription_at="2024-01-01T00:00:00Z")


def test_invoice_tax_is_a_cent_below_the_sum_of_fee_taxes(api, runtime):
    _three_five_cent_subscriptions(api, runtime)
    tick_at(runtime, _BILLING_DAY)
    [invoice] = invoices(api)
    # each fee: 5 × 10 % = 0.5 → 1; the invoice: 1.5 → 2 (not 3)
    assert [f["taxes_amount_cents"] for f in invoice["fees"]] == [1, 1, 1]
    assert _totals(invoice) == (15, 0, 15, 2, 17)
    assert [(t["tax_code"], t["amount_cents"], t["fees_amount_cents"]) for t in invoice["applied_taxes"]] == [
        ("vat", 2, 15)
    ]


def test_invoice_tax_is_a_cent_above_the_sum_of_fee_taxes_after_a_coupon(api, runtime):
    _three_five_cent_subscriptions(api, runtime)
    coupon(api, "three", amount_cents=3)
    apply(api, "three")
    tick_at(runtime, _BILLING_DAY)
    [invoice] = invoices(api)
    # each fee: (5 − 1) × 10 % = 0.4 → 0; the invoice: 1.2 → 1
    assert [(f["precise_coupons_amount_cents"], f["taxes_amount_cents"]) for f in invoice["fees"]] == [
        ("1.0", 0),
        ("1.0", 0),
        ("1.0", 0),
    ]
    assert _totals(invoice) == (15, 3, 12, 1, 13)
