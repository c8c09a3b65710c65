"""``POST /invoices/preview`` (billing.md §4.11): writes nothing, and equals the invoice later
generated for the same inputs (same code, rolled-back transaction)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.billing.coupon_helpers import applied_coupons, apply, coupon, events, metric
from tests.billing.helpers import clock, customer, drain, invoices, plan, start_clock, subscribe, tick_at
from tests.billing.preview_helpers import amounts, preview, row_counts
from tests.pricing.helpers import create_tax
from tests.support.openapi import assert_matches_openapi


def _usage_plan(
    api: Any, code: str = "pro", *, pay_in_advance: bool = False, amount_cents: int = 1000
) -> None:
    bm = metric(api, "calls")
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "2.5"},
    }
    plan(api, code, amount_cents=amount_cents, pay_in_advance=pay_in_advance, charges=[charge])


def _assert_preview_then_bill(
    api: Any, runtime: Any, body: dict[str, Any], bill_at: datetime
) -> dict[str, Any]:
    """Preview (nothing written), bill at ``bill_at``, and compare with the newest invoice."""
    before = row_counts(runtime)
    previewed = preview(api, **body)
    assert row_counts(runtime) == before
    tick_at(runtime, bill_at)
    real = invoices(api)[-1]
    assert real["status"] == "finalized"
    assert amounts(previewed) == amounts(real)
    return previewed


def test_arrears_plan_with_usage_percentage_coupon_and_tax(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    create_tax(api, "vat", "19.6", applied_to_organization=True)
    customer(api)
    _usage_plan(api)
    subscribe(api, subscription_at="2024-01-01T00:00:00Z")
    coupon(api, "pct", coupon_type="percentage", percentage_rate="12.5", amount_currency=None)
    apply(api, "pct")
    events(api, "calls", datetime(2024, 1, 10, tzinfo=UTC), 7)
    clock(api, "2024-01-20T10:00:00Z")
    body = {"customer": {"external_id": "cus_1"}, "subscriptions": {"external_ids": ["sub_1"]}}
    previewed = _assert_preview_then_bill(api, runtime, body, datetime(2024, 2, 1, tzinfo=UTC))
    # 1000 + 7 × 250 = 2750; 12.5 % → 344 (343.75); 2406 × 19.6 % = 471.58 → 472
    assert (
        previewed["fees_amount_cents"],
        previewed["coupons_amount_cents"],
        previewed["taxes_amount_cents"],
        previewed["total_amount_cents"],
    ) == (2750, 344, 472, 2878)
    assert previewed["status"] == "draft"
    assert [c["item"]["code"] for c in previewed["credits"]] == ["pct"]


def test_advance_plan_next_period_with_fixed_coupon_and_plan_tax(api, runtime):
    start_clock(runtime, datetime(2024, 1, 15, 9, tzinfo=UTC))
    create_tax(api, "gst", "7.5")
    customer(api)
    _usage_plan(api, pay_in_advance=True, amount_cents=3100)
    ok_plan_tax = api.put("/plans/pro", {"plan": {"tax_codes": ["gst"]}})
    assert ok_plan_tax.status_code == 200, ok_plan_tax.text
    subscribe(api, subscription_at="2024-01-15T00:00:00Z")
    drain(api, runtime)
    coupon(api, "fix", amount_cents=1234)
    apply(api, "fix")
    events(api, "calls", datetime(2024, 1, 20, tzinfo=UTC), 3)
    body = {"customer": {"external_id": "cus_1"}, "subscriptions": {"external_ids": ["sub_1"]}}
    previewed = _assert_preview_then_bill(api, runtime, body, datetime(2024, 2, 1, tzinfo=UTC))
    # 3100 (February in advance) + 3 × 250 (January usage) = 3850; − 1234 = 2616; 7.5 % = 196.2
    assert (
        previewed["fees_amount_cents"],
        previewed["coupons_amount_cents"],
        previewed["taxes_amount_cents"],
        previewed["total_amount_cents"],
    ) == (3850, 1234, 196, 2812)


def test_new_advance_subscription_with_request_coupons(api, runtime):
    start_clock(runtime, datetime(2024, 3, 10, 9, tzinfo=UTC))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    customer(api)
    plan(api, "pro", amount_cents=3100, pay_in_advance=True)
    coupon(api, "fix", amount_cents=500)
    body = {
        "customer": {"external_id": "cus_1"},
        "plan_code": "pro",
        "subscription_at": "2024-03-10T09:00:00Z",
        "coupons": [{"code": "fix"}],
    }
    before = row_counts(runtime)
    previewed = preview(api, **body)
    assert row_counts(runtime) == before
    # 22 days of 31 → 2200; − 500 = 1700; 20 % = 340
    assert (previewed["fees_amount_cents"], previewed["coupons_amount_cents"]) == (2200, 500)
    assert (previewed["taxes_amount_cents"], previewed["total_amount_cents"]) == (340, 2040)
    apply(api, "fix")
    subscribe(api, subscription_at="2024-03-10T09:00:00Z")
    drain(api, runtime)
    [real] = invoices(api)
    assert amounts(previewed) == amounts(real)


def test_new_arrears_subscription_for_an_inline_customer_writes_nothing(api, runtime):
    start_clock(runtime, datetime(2024, 3, 10, 9, tzinfo=UTC))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    _usage_plan(api, amount_cents=3100)
    coupon(api, "fix", amount_cents=300)
    before = row_counts(runtime)
    body = {
        "customer": {"name": "Nobody yet", "timezone": "UTC", "currency": "EUR"},
        "plan_code": "pro",
        "billing_time": "anniversary",
        "coupons": [
            {"code": "fix"},
            {"code": "new_pct", "coupon_type": "percentage", "percentage_rate": "10"},
        ],
    }
    previewed = preview(api, **body)
    assert row_counts(runtime) == before
    # A full anniversary month 03-10 → 04-09: 3100; 300 fixed then 10 % of 2800 = 280
    assert (previewed["fees_amount_cents"], previewed["coupons_amount_cents"]) == (3100, 580)
    assert (previewed["taxes_amount_cents"], previewed["total_amount_cents"]) == (504, 3024)
    assert previewed["customer"]["name"] == "Nobody yet"
    assert [p["subscription_from_datetime"] for p in previewed["billing_periods"]] == ["2024-03-10T00:00:00Z"]
    # The same inputs billed for real.
    customer(api, "cus_2", name="Nobody yet", timezone="UTC", currency="EUR")
    apply(api, "fix", customer_id="cus_2")
    coupon(api, "new_pct", coupon_type="percentage", percentage_rate="10", amount_currency=None)
    apply(api, "new_pct", customer_id="cus_2")
    subscribe(api, customer_id="cus_2", billing_time="anniversary", subscription_at="2024-03-10T09:00:00Z")
    tick_at(runtime, datetime(2024, 4, 10, tzinfo=UTC))
    [real] = invoices(api)
    assert amounts(previewed) == amounts(real)
    assert {c: a["status"] for c, a in applied_coupons(api, "cus_2").items()} == {
        "fix": "terminated",
        "new_pct": "terminated",
    }


def test_preview_matches_the_openapi_document(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    customer(api)
    _usage_plan(api)
    subscribe(api, subscription_at="2024-01-01T00:00:00Z")
    body = {"customer": {"external_id": "cus_1"}, "subscriptions": {"external_ids": ["sub_1"]}}
    response = api.post("/invoices/preview", body)
    assert response.status_code == 200, response.text
    payload = response.json()
    # Never numbered (as Lago's unsaved preview invoice): the one field the document types as integer.
    assert (payload["invoice"]["sequential_id"], payload["invoice"]["number"][-6:]) == (None, "-DRAFT")
    payload["invoice"]["sequential_id"] = 0
    assert_matches_openapi("POST", "/invoices/preview", 200, payload, content_type="application/json")


def test_errors(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    customer(api)
    plan(api)
    missing_customer = api.post(
        "/invoices/preview", {"customer": {"external_id": "nope"}, "plan_code": "pro"}
    )
    assert (missing_customer.status_code, missing_customer.json()["code"]) == (404, "customer_not_found")
    missing_plan = api.post("/invoices/preview", {"customer": {"external_id": "cus_1"}, "plan_code": "nope"})
    assert (missing_plan.status_code, missing_plan.json()["code"]) == (404, "plan_not_found")
    missing_sub = api.post(
        "/invoices/preview", {"customer": {"external_id": "cus_1"}, "subscriptions": {"external_ids": ["x"]}}
    )
    assert (missing_sub.status_code, missing_sub.json()["code"]) == (404, "subscription_not_found")
    no_customer = api.post("/invoices/preview", {"plan_code": "pro"})
    assert no_customer.status_code == 422
    assert no_customer.json()["error_details"] == {"customer": ["value_is_mandatory"]}
    inline_with_ids = api.post(
        "/invoices/preview", {"customer": {"name": "X"}, "subscriptions": {"external_ids": ["sub_1"]}}
    )
    assert inline_with_ids.status_code == 422
    assert inline_with_ids.json()["error_details"] == {"customer": ["must_be_persisted"]}


def test_two_existing_subscriptions_on_one_preview_share_the_coupon(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    create_tax(api, "vat", "10.0", applied_to_organization=True)
    customer(api)
    plan(api, "small", amount_cents=999)
    _usage_plan(api, "big", amount_cents=2001)
    subscribe(api, "small", external_id="sub_1", subscription_at="2024-01-01T00:00:00Z")
    subscribe(api, "big", external_id="sub_2", subscription_at="2024-01-01T00:00:00Z")
    coupon(api, "fix", amount_cents=1000)
    apply(api, "fix")
    events(api, "calls", datetime(2024, 1, 10, tzinfo=UTC), 2, sub="sub_2")
    clock(api, "2024-01-25T10:00:00Z")
    body = {"customer": {"external_id": "cus_1"}, "subscriptions": {"external_ids": ["sub_1", "sub_2"]}}
    previewed = _assert_preview_then_bill(api, runtime, body, datetime(2024, 2, 1, tzinfo=UTC))
    # 999 + 2001 + 2 × 250 = 3500; − 1000 = 2500; 10 % = 250
    assert (previewed["fees_amount_cents"], previewed["coupons_amount_cents"]) == (3500, 1000)
    assert (previewed["taxes_amount_cents"], previewed["total_amount_cents"]) == (250, 2750)
    assert sorted(p["external_subscription_id"] for p in previewed["billing_periods"]) == ["sub_1", "sub_2"]
