"""Usage charge fees on invoices: the aggregation engine and the charge models through the public
API (metering.md §3, §6 vectors; billing.md §5.2 and §8 Ex7, Ex10)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from billow.billing.fees.compute import current_usage_charge_fees
from billow.billing.fees.engine import build_fee_engine
from billow.db.context import Ctx
from billow.subscriptions.models import Subscription
from tests.billing.helpers import (
    customer,
    drain,
    event,
    fee_of,
    invoices,
    metric,
    plan,
    start_clock,
    subscribe,
    terminate,
    tick_at,
)
from tests.pricing.helpers import create_tax, ok
from tests.scenarios.helpers import ex6_plans_a_and_b_billed_for_january, ex6_upgrade_to_b_on_february_12

START = datetime(2024, 1, 1, 9, tzinfo=UTC)
BILLED = datetime(2024, 2, 1, tzinfo=UTC)


def _charge_fees(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in invoice["fees"] if f["item"]["type"] == "charge"]


def _monthly(api: Any, runtime: Any, charges: list[dict[str, Any]], **plan_fields: Any) -> None:
    start_clock(runtime, START)
    customer(api)
    plan(api, amount_cents=0, charges=charges, **plan_fields)
    subscribe(api, subscription_at="2024-01-01T00:00:00Z")
    drain(api, runtime)


def test_v1_count_standard(api, runtime):
    bm = metric(api, "calls")
    _monthly(
        api,
        runtime,
        [{"billable_metric_id": bm["lago_id"], "charge_model": "standard", "properties": {"amount": "5"}}],
    )
    for day in (2, 3, 4):
        event(api, "calls", datetime(2024, 1, day, tzinfo=UTC))
    tick_at(runtime, BILLED)
    [invoice] = invoices(api)
    [fee] = _charge_fees(invoice)
    assert (fee["amount_cents"], fee["units"], fee["events_count"]) == (1500, "3.0", 3)
    assert fee["item"]["code"] == "calls"
    assert fee["item"]["item_type"] == "BillableMetric"
    assert (fee["from_date"], fee["to_date"]) == ("2024-01-01T00:00:00Z", "2024-01-31T23:59:59Z")
    assert fee["precise_unit_amount"] == "5.0"
    assert invoice["fees_amount_cents"] == 1500


def test_v2_grouped_charge_has_one_fee_per_group(api, runtime):
    bm = metric(api, "calls")
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "10", "pricing_group_keys": ["region"]},
    }
    _monthly(api, runtime, [charge])
    for region in ("us", "us", "eu"):
        event(api, "calls", datetime(2024, 1, 5, tzinfo=UTC), region=region)
    tick_at(runtime, BILLED)
    fees = {f["item"]["grouped_by"]["region"]: f for f in _charge_fees(invoices(api)[0])}
    assert {k: (f["amount_cents"], f["units"]) for k, f in fees.items()} == {
        "us": (2000, "2.0"),
        "eu": (1000, "1.0"),
    }


def test_v3_filters_and_the_zero_default_bucket_is_dropped(api, runtime):
    bm = metric(
        api, "hours", "sum_agg", field_name="hours", filters=[{"key": "cloud", "values": ["aws", "gcp"]}]
    )
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "0.12"},
        "filters": [
            {"invoice_display_name": "GCP", "properties": {"amount": "0.10"}, "values": {"cloud": ["gcp"]}},
            {"properties": {"amount": "0.08"}, "values": {"cloud": ["aws"]}},
        ],
    }
    _monthly(api, runtime, [charge])
    event(api, "hours", datetime(2024, 1, 5, tzinfo=UTC), cloud="aws", hours=100)
    event(api, "hours", datetime(2024, 1, 6, tzinfo=UTC), cloud="gcp", hours=200)
    tick_at(runtime, BILLED)
    fees = _charge_fees(invoices(api)[0])
    assert sorted((f["item"]["filters"]["cloud"][0], f["amount_cents"]) for f in fees) == [
        ("aws", 800),
        ("gcp", 2000),
    ]
    gcp = next(f for f in fees if f["item"]["filters"] == {"cloud": ["gcp"]})
    assert gcp["item"]["filter_invoice_display_name"] == "GCP"
    assert gcp["lago_charge_filter_id"] is not None


def test_v6_v7_graduated_first_range_flat_fee_is_billed_without_usage(api, runtime):
    bm = metric(api, "calls")
    ranges = [
        {"from_value": 0, "to_value": 5, "per_unit_amount": "10", "flat_amount": "100"},
        {"from_value": 6, "to_value": None, "per_unit_amount": "5", "flat_amount": "50"},
    ]
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "graduated",
        "properties": {"graduated_ranges": ranges},
    }
    _monthly(api, runtime, [charge])
    tick_at(runtime, BILLED)
    [fee] = _charge_fees(invoices(api)[0])
    assert (fee["amount_cents"], fee["units"]) == (10_000, "0.0")
    assert fee["amount_details"]["graduated_ranges"][0]["flat_unit_amount"] == "100.0"
    for day in range(2, 10):
        event(api, "calls", datetime(2024, 2, day, tzinfo=UTC))
    tick_at(runtime, datetime(2024, 3, 1, tzinfo=UTC))
    [march] = _charge_fees(invoices(api)[-1])
    assert (march["amount_cents"], march["units"]) == (21_500, "8.0")


def test_v30_pricing_unit_double_rounding(api, runtime):
    ok(
        api.post(
            "/pricing_units", {"pricing_unit": {"name": "Credits", "code": "credits", "short_name": "CRD"}}
        )
    )
    bm = metric(api, "gb", "sum_agg", field_name="gb")
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "1.0"},
        "applied_pricing_unit": {"code": "credits", "conversion_rate": "0.5"},
    }
    _monthly(api, runtime, [charge])
    for _ in range(3):
        event(api, "gb", datetime(2024, 1, 7, tzinfo=UTC), gb=100)
    tick_at(runtime, BILLED)
    [fee] = _charge_fees(invoices(api)[0])
    assert fee["amount_cents"] == 15_000
    details = fee["pricing_unit_details"]
    assert (details["amount_cents"], details["short_name"], details["conversion_rate"]) == (
        30_000,
        "CRD",
        "0.5",
    )


def test_spending_minimum_true_up(api, runtime):
    bm = metric(api, "calls")
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "7"},
        "min_amount_cents": 1000,
    }
    _monthly(api, runtime, [charge])
    event(api, "calls", datetime(2024, 1, 3, tzinfo=UTC))
    tick_at(runtime, BILLED)
    fees = _charge_fees(invoices(api)[0])
    parent = next(f for f in fees if f["lago_true_up_parent_fee_id"] is None)
    true_up = next(f for f in fees if f["lago_true_up_parent_fee_id"] is not None)
    assert (parent["amount_cents"], true_up["amount_cents"]) == (700, 300)
    assert (true_up["units"], true_up["events_count"]) == ("1.0", 0)
    assert parent["lago_true_up_fee_id"] == true_up["lago_id"]
    assert true_up["lago_true_up_parent_fee_id"] == parent["lago_id"]


def test_ex10_spending_minimum_on_termination_with_tax(api, runtime):
    start_clock(runtime, datetime(2023, 1, 8, 9, tzinfo=UTC))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    bm = metric(api, "calls")
    customer(api)
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "8"},
        "min_amount_cents": 1000,
    }
    plan(api, amount_cents=5000, pay_in_advance=True, charges=[charge])
    subscribe(api)
    drain(api, runtime)
    [start] = invoices(api)
    assert (start["fees_amount_cents"], start["taxes_amount_cents"], start["total_amount_cents"]) == (
        3871,
        774,
        4645,
    )
    tick_at(runtime, datetime(2023, 2, 1, tzinfo=UTC))
    tick_at(runtime, datetime(2023, 2, 25, 6, tzinfo=UTC))
    event(api, "calls", datetime(2023, 2, 25, 5, tzinfo=UTC))
    terminate(api)
    drain(api, runtime)
    last = invoices(api)[-1]
    assert sorted(f["amount_cents"] for f in _charge_fees(last)) == [93, 800]
    # 1072 less the credit note of February's 3 unused days (643), issued before this invoice.
    assert (last["fees_amount_cents"], last["taxes_amount_cents"], last["total_amount_cents"]) == (
        893,
        179,
        429,
    )
    assert last["credit_notes_amount_cents"] == 643


def _seats_plan(api: Any, code: str, amount: int, bm: dict[str, Any]) -> None:
    charge = {
        "billable_metric_id": bm["lago_id"],
        "charge_model": "standard",
        "prorated": True,
        "properties": {"amount": "1"},
    }
    plan(api, code, amount_cents=amount, charges=[charge])


def test_ex7_arrears_upgrade_with_recurring_prorated_charge(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, tzinfo=UTC))
    bm = metric(api, "seats", "sum_agg", field_name="seats", recurring=True)
    customer(api)
    _seats_plan(api, "a", 2900, bm)
    _seats_plan(api, "b", 29000, bm)
    subscribe(api, "a")
    drain(api, runtime)
    event(api, "seats", datetime(2024, 1, 2, tzinfo=UTC), seats=5)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    tick_at(runtime, datetime(2024, 2, 12, 6, tzinfo=UTC))
    subscribe(api, "b")
    tick_at(runtime, datetime(2024, 2, 12, 7, tzinfo=UTC))
    upgrade = invoices(api)[-1]
    assert (fee_of(upgrade, "subscription")["amount_cents"], fee_of(upgrade, "charge")["amount_cents"]) == (
        1100,
        190,
    )
    assert upgrade["total_amount_cents"] == 1290
    tick_at(runtime, datetime(2024, 3, 1, tzinfo=UTC))
    march = invoices(api)[-1]
    assert (fee_of(march, "subscription")["amount_cents"], fee_of(march, "charge")["amount_cents"]) == (
        18000,
        310,
    )
    assert march["total_amount_cents"] == 18310


def test_ex7_plain_termination_with_recurring_prorated_charge(api, runtime):
    start_clock(runtime, datetime(2024, 1, 1, tzinfo=UTC))
    bm = metric(api, "seats", "sum_agg", field_name="seats", recurring=True)
    customer(api)
    _seats_plan(api, "a", 2900, bm)
    subscribe(api, "a")
    drain(api, runtime)
    event(api, "seats", datetime(2024, 1, 2, tzinfo=UTC), seats=5)
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    tick_at(runtime, datetime(2024, 2, 12, 6, tzinfo=UTC))
    terminate(api)
    drain(api, runtime)
    last = invoices(api)[-1]
    assert (fee_of(last, "subscription")["amount_cents"], fee_of(last, "charge")["amount_cents"]) == (
        1200,
        207,
    )
    assert last["total_amount_cents"] == 1407


def test_current_usage_reuses_the_invoice_fee_code(api, runtime, org):
    bm = metric(api, "calls")
    ranges = [{"from_value": 0, "to_value": None, "per_unit_amount": "2", "flat_amount": "1"}]
    charges = [
        {"billable_metric_id": bm["lago_id"], "charge_model": "standard", "properties": {"amount": "5"}},
        {
            "billable_metric_id": bm["lago_id"],
            "charge_model": "graduated",
            "properties": {"graduated_ranges": ranges},
        },
    ]
    _monthly(api, runtime, charges)
    event(api, "calls", datetime(2024, 1, 5, tzinfo=UTC))
    event(api, "calls", datetime(2024, 1, 6, tzinfo=UTC))
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        sub = session.scalars(select(Subscription)).one()
        bounds, fees = current_usage_charge_fees(
            ctx, build_fee_engine(), sub, datetime(2024, 1, 10, tzinfo=UTC)
        )
    assert (bounds.charges_from_datetime, bounds.charges_to_datetime.date()) == (
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 31, tzinfo=UTC).date(),
    )
    assert [(f.amount_cents, f.units, f.events_count) for f in fees] == [(1000, 2, 2), (500, 2, 2)]
    assert all(f.invoice_display_name is None and f.fee_type == "charge" for f in fees)


def test_ex6_advance_upgrade_bills_the_old_recurring_prorated_charge(api, runtime):
    ex6_plans_a_and_b_billed_for_january(api, runtime)
    ex6_upgrade_to_b_on_february_12(api, runtime)
    upgrade = invoices(api)[-1]
    # The credit note of the old plan's unused days (1800) is the credit notes package's.
    assert (fee_of(upgrade, "subscription")["amount_cents"], fee_of(upgrade, "charge")["amount_cents"]) == (
        18000,
        190,
    )
    tick_at(runtime, datetime(2024, 3, 1, tzinfo=UTC))
    march = invoices(api)[-1]
    assert (fee_of(march, "subscription")["amount_cents"], fee_of(march, "charge")["amount_cents"]) == (
        29000,
        310,
    )
    assert march["total_amount_cents"] == 29310
