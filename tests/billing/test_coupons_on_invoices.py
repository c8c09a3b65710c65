"""Coupons on invoices (billing.md §6.1, §8 Ex13, Ex14) through the public API and the test clock:
per-fee shares, credits, the applied coupons' lifecycle, drafts, and the API objects."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.billing.coupon_helpers import applied_coupons, apply, coupon, events, metric
from tests.billing.helpers import (
    add_endpoint,
    clock,
    customer,
    drain,
    fee_of,
    invoices,
    plan,
    start_clock,
    subscribe,
    tick_at,
    webhooks,
)
from tests.pricing.helpers import create_tax, ok
from tests.support.openapi import assert_matches_webhook, assert_response_matches_openapi


def _charge(bm: dict[str, Any], tax: str) -> dict[str, Any]:
    return {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "1"},
        "tax_codes": [tax],
    }


def _ex13(api: Any, runtime: Any) -> dict[str, Any]:
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    create_tax(api, "vat10", "10.0")
    create_tax(api, "vat20", "20.0")
    rates = ("vat10", "vat20", "vat10", "vat10")
    metrics = [metric(api, f"bm{n}") for n in range(1, 9)]
    customer(api)
    plan(
        api, "plan1", amount_cents=0, charges=[_charge(m, t) for m, t in zip(metrics[:4], rates, strict=True)]
    )
    plan(
        api, "plan2", amount_cents=0, charges=[_charge(m, t) for m, t in zip(metrics[4:], rates, strict=True)]
    )
    subscribe(api, "plan1", external_id="sub_1", subscription_at="2024-01-01T00:00:00Z")
    subscribe(api, "plan2", external_id="sub_2", subscription_at="2024-01-01T00:00:00Z")
    coupon(api, "c3", amount_cents=500)
    coupon(api, "c2", amount_cents=1000, applies_to={"plan_codes": ["plan2"]})
    coupon(api, "c1", amount_cents=2000, applies_to={"billable_metric_codes": ["bm1", "bm2"]})
    for code in ("c3", "c2", "c1"):
        apply(api, code)
        clock(api, runtime.clock.now().replace(second=runtime.clock.now().second + 1).isoformat())
    for n in range(1, 9):
        sub = "sub_1" if n <= 4 else "sub_2"
        events(api, f"bm{n}", datetime(2024, 1, 10, tzinfo=UTC), 10 * (((n - 1) % 4) + 1), sub=sub)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    [invoice] = invoices(api)
    return invoice


def test_ex13_coupon_breakdown_over_two_subscriptions(api, runtime):
    invoice = _ex13(api, runtime)
    charges = {f["item"]["code"]: f for f in invoice["fees"] if f["item"]["type"] == "charge"}
    assert [charges[f"bm{n}"]["amount_cents"] for n in range(1, 9)] == [1000, 2000, 3000, 4000] * 2
    assert [charges[f"bm{n}"]["precise_coupons_amount_cents"] for n in range(1, 9)] == [
        "676.47059",
        "1352.94117",
        "88.23529",
        "117.64706",
        "126.47059",
        "252.94118",
        "379.41176",
        "505.88235",
    ]
    assert [charges[f"bm{n}"]["taxes_amount_cents"] for n in range(1, 9)] == [
        32,
        129,
        291,
        388,
        87,
        349,
        262,
        349,
    ]
    assert (
        invoice["fees_amount_cents"],
        invoice["coupons_amount_cents"],
        invoice["sub_total_excluding_taxes_amount_cents"],
        invoice["taxes_amount_cents"],
        invoice["total_amount_cents"],
    ) == (20000, 3500, 16500, 1889, 18389)
    shares = sum(Decimal(f["precise_coupons_amount_cents"]) for f in invoice["fees"])
    assert round(shares) == invoice["coupons_amount_cents"]
    assert [(c["item"]["code"], c["amount_cents"]) for c in invoice["credits"]] == [
        ("c1", 2000),
        ("c2", 1000),
        ("c3", 500),
    ]
    credit = invoice["credits"][0]
    assert credit["before_taxes"] is True
    assert credit["item"]["type"] == "coupon"
    assert credit["invoice"] == {"lago_id": invoice["lago_id"], "payment_status": "pending"}
    by_code = applied_coupons(api)
    for code, amount in (("c1", 2000), ("c2", 1000), ("c3", 500)):
        applied = by_code[code]
        assert (applied["status"], applied["amount_cents_remaining"]) == ("terminated", 0)
        assert applied["terminated_at"] == "2024-02-01T00:00:00Z"
        assert [c["amount_cents"] for c in applied["credits"]] == [amount]
        assert applied["credits"][0]["invoice"]["lago_id"] == invoice["lago_id"]


def test_invoice_with_credits_and_applied_coupons_match_the_openapi_document(api, runtime):
    invoice = _ex13(api, runtime)
    assert_response_matches_openapi(api.get(f"/invoices/{invoice['lago_id']}"), "/invoices/{lago_id}")
    assert_response_matches_openapi(api.get("/applied_coupons"), "/applied_coupons")


def test_ex14_forever_coupon_limited_to_a_plan_with_two_plan_taxes(api, runtime):
    start_clock(runtime, datetime(2023, 9, 19, 10, tzinfo=UTC))
    create_tax(api, "vat", "10.0", applied_to_organization=True)
    create_tax(api, "t1", "10.0")
    create_tax(api, "t2", "10.0")
    customer(api)
    plan(api, "plan1", amount_cents=17900, pay_in_advance=True)
    plan(api, "plan2", amount_cents=39900, pay_in_advance=True, tax_codes=["t1", "t2"])
    subscribe(api, "plan1", external_id="sub_1", billing_time="anniversary")
    subscribe(api, "plan2", external_id="sub_2", billing_time="anniversary")
    drain(api, runtime)
    assert sorted(i["total_amount_cents"] for i in invoices(api)) == [19690, 47880]
    coupon(api, "forever", amount_cents=1000, frequency="forever", applies_to={"plan_codes": ["plan2"]})
    apply(api, "forever", amount_cents=25000)
    clock(api, "2023-10-19T10:00:00Z")
    last = invoices(api)[-1]
    assert (last["fees_amount_cents"], last["coupons_amount_cents"]) == (57800, 25000)
    assert fee_of_plan(last, "plan2")["precise_coupons_amount_cents"] == "25000.0"
    assert fee_of_plan(last, "plan1")["precise_coupons_amount_cents"] == "0.0"
    assert [fee_of_plan(last, p)["taxes_amount_cents"] for p in ("plan1", "plan2")] == [1790, 2980]
    assert (last["taxes_amount_cents"], last["total_amount_cents"]) == (4770, 37570)
    taxes = {t["tax_code"]: (t["amount_cents"], t["fees_amount_cents"]) for t in last["applied_taxes"]}
    assert taxes == {"vat": (1790, 17900), "t1": (1490, 14900), "t2": (1490, 14900)}
    forever = applied_coupons(api)["forever"]
    assert (
        forever["status"],
        forever["amount_cents_remaining"],
        forever["frequency_duration_remaining"],
    ) == (
        "active",
        None,
        None,
    )
    clock(api, "2023-11-19T10:00:00Z")
    assert invoices(api)[-1]["coupons_amount_cents"] == 25000


def fee_of_plan(invoice: dict[str, Any], code: str) -> dict[str, Any]:
    [fee] = [f for f in invoice["fees"] if f["item"]["type"] == "subscription" and f["item"]["code"] == code]
    return fee


def test_recurring_coupon_covers_exactly_its_frequency_duration(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=1000, pay_in_advance=True)
    coupon(
        api,
        "ten",
        coupon_type="percentage",
        percentage_rate="10",
        frequency="recurring",
        frequency_duration=3,
        amount_currency=None,
    )
    apply(api, "ten")
    subscribe(api, subscription_at="2024-01-01T00:00:00Z")
    drain(api, runtime)
    assert applied_coupons(api)["ten"]["frequency_duration_remaining"] == 2
    for month in (2, 3, 4):
        tick_at(runtime, datetime(2024, month, 1, tzinfo=UTC))
    found = invoices(api)
    assert [i["coupons_amount_cents"] for i in found] == [100, 100, 100, 0]
    assert [i["total_amount_cents"] for i in found] == [900, 900, 900, 1000]
    ten = applied_coupons(api)["ten"]
    assert (ten["status"], ten["frequency_duration_remaining"], ten["terminated_at"]) == (
        "terminated",
        0,
        "2024-03-01T00:00:00Z",
    )
    assert len(ten["credits"]) == 3
    assert ten["amount_cents_remaining"] is None


def test_fixed_once_coupon_spreads_over_invoices_until_used_up(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=1000, pay_in_advance=True)
    coupon(api, "big", amount_cents=2500)
    apply(api, "big")
    subscribe(api, subscription_at="2024-01-01T00:00:00Z")
    drain(api, runtime)
    assert applied_coupons(api)["big"]["amount_cents_remaining"] == 1500
    for month in (2, 3, 4):
        tick_at(runtime, datetime(2024, month, 1, tzinfo=UTC))
    found = invoices(api)
    assert [i["coupons_amount_cents"] for i in found] == [1000, 1000, 500, 0]
    assert [i["total_amount_cents"] for i in found] == [0, 0, 500, 1000]
    assert [i["payment_status"] for i in found] == ["succeeded", "succeeded", "pending", "pending"]
    big = applied_coupons(api)["big"]
    assert (big["status"], big["amount_cents_remaining"]) == ("terminated", 0)


def test_coupons_never_touch_drafts_and_apply_when_finalized(api, runtime):
    start_clock(runtime, datetime(2024, 1, 15, 9, tzinfo=UTC))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    add_endpoint(api)
    customer(api, billing_configuration={"invoice_grace_period": 3})
    plan(api, amount_cents=3100, pay_in_advance=True)
    coupon(api, "off", amount_cents=1000)
    apply(api, "off")
    subscribe(api)
    drain(api, runtime)
    [draft] = invoices(api)
    assert (draft["status"], draft["coupons_amount_cents"], draft["credits"]) == ("draft", 0, [])
    assert draft["total_amount_cents"] == 2040
    refreshed = ok(api.put(f"/invoices/{draft['lago_id']}/refresh"))["invoice"]
    assert refreshed["coupons_amount_cents"] == 0
    assert applied_coupons(api)["off"]["status"] == "active"
    final = ok(api.put(f"/invoices/{draft['lago_id']}/finalize"))["invoice"]
    assert (final["status"], final["coupons_amount_cents"]) == ("finalized", 1000)
    assert (final["sub_total_excluding_taxes_amount_cents"], final["taxes_amount_cents"]) == (700, 140)
    assert final["total_amount_cents"] == 840
    assert [c["amount_cents"] for c in final["credits"]] == [1000]
    fee = fee_of(final, "subscription")
    assert (fee["precise_coupons_amount_cents"], fee["taxes_amount_cents"]) == ("1000.0", 140)
    [created] = webhooks(runtime, "invoice.created")
    assert created["invoice"]["credits"][0]["item"]["code"] == "off"
    assert_matches_webhook("invoice.created", created)


def test_a_coupon_in_another_currency_or_without_matching_fees_is_left_alone(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    customer(api)
    plan(api, "pro", amount_cents=1000, pay_in_advance=True)
    plan(api, "other", amount_cents=500, pay_in_advance=True)
    subscribe(api, "pro", subscription_at="2024-01-01T00:00:00Z")
    drain(api, runtime)
    coupon(api, "usd", amount_cents=100, amount_currency="USD")
    coupon(api, "other_only", amount_cents=100, applies_to={"plan_codes": ["other"]})
    apply(api, "usd")
    apply(api, "other_only")
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    last = invoices(api)[-1]
    assert (last["fees_amount_cents"], last["coupons_amount_cents"], last["credits"]) == (1000, 0, [])
    assert {c: a["status"] for c, a in applied_coupons(api).items()} == {
        "usd": "active",
        "other_only": "active",
    }
