"""``POST /events/estimate_fees``, ``/events/estimate_instant_fees`` and
``/events/batch_estimate_instant_fees`` (metering.md §1.7): exact bodies, errors, nothing stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.advance.helpers import advance_charge, metric, row_counts, send, settle, setup
from tests.pricing.helpers import create_tax, ok
from tests.scenarios.helpers import fee_owner, metric_item, subscription_and_charge_ids, unattached_fee_ids

pytestmark = pytest.mark.slow

NOW = datetime(2024, 3, 10, 9, tzinfo=UTC)


def _estimate(api: Any, path: str = "/events/estimate_fees", **event: Any) -> Any:
    return api.post(path, {"event": {"external_subscription_id": "sub_1", **event}})


def _error(response: Any) -> tuple[int, Any]:
    body = response.json()
    return response.status_code, body.get("code") if response.status_code != 422 else body["error_details"]


def test_estimate_fees_prices_the_event_after_the_stored_ones_with_taxes_and_stores_nothing(api, runtime):
    vat = create_tax(api, "vat", "20.0", applied_to_organization=True)
    bm = metric(api, "storage")
    setup(
        api,
        runtime,
        NOW,
        [advance_charge(bm, properties={"amount": "2"})],
        subscription_at="2024-03-01T00:00:00Z",
    )
    send(api, "storage", value=4)
    settle(api, runtime)
    before = row_counts(runtime)
    response = _estimate(api, code="storage", properties={"value": "3"})
    assert row_counts(runtime) == before
    fees = ok(response)["fees"]
    [fee] = fees
    transaction_id = fee.pop("event_transaction_id")
    assert uuid.UUID(transaction_id)
    sub, charge_id = subscription_and_charge_ids(api)
    assert fee == {
        **unattached_fee_ids(None, charge_id),
        **fee_owner(sub),
        "item": metric_item("storage", "Storage", bm["lago_id"]),
        "pay_in_advance": True,
        "invoiceable": True,
        # 4 stored, 3 more: the mark rises by 3 → 3 × 2.
        "amount_cents": 600,
        "amount_currency": "EUR",
        "precise_amount": "6.0",
        "precise_total_amount": "7.2",
        "taxes_amount_cents": 120,
        "taxes_precise_amount": "1.2",
        "taxes_rate": 20.0,
        "total_aggregated_units": "3.0",
        "total_amount_cents": 720,
        "total_amount_currency": "EUR",
        "units": "3.0",
        "description": None,
        "precise_unit_amount": "2.0",
        "precise_coupons_amount_cents": "0.0",
        "sub_total_excluding_taxes_amount_cents": 600,
        "sub_total_excluding_taxes_precise_amount_cents": "600.0",
        "events_count": 1,
        "payment_status": "pending",
        "created_at": None,
        "succeeded_at": None,
        "failed_at": None,
        "refunded_at": None,
        "amount_details": {},
        "self_billed": False,
        "pricing_unit_details": None,
        "presentation_breakdowns": [],
        "from_date": "2024-03-01T00:00:00Z",
        "to_date": "2024-03-31T23:59:59Z",
        "applied_taxes": [
            {
                "lago_id": None,
                "lago_fee_id": None,
                "lago_tax_id": vat["lago_id"],
                "tax_name": "VAT",
                "tax_code": "vat",
                "tax_rate": 20.0,
                "tax_description": None,
                "amount_cents": 120,
                "amount_currency": "EUR",
                "created_at": None,
            }
        ],
    }


def test_estimate_fees_graduated_keeps_the_first_tier_flat_fee_out_as_lago(api, runtime):
    bm = metric(api, "calls", "count_agg")
    ranges = [
        {"from_value": 0, "to_value": 2, "per_unit_amount": "1", "flat_amount": "10"},
        {"from_value": 3, "to_value": None, "per_unit_amount": "2", "flat_amount": "0"},
    ]
    setup(api, runtime, NOW, [advance_charge(bm, "graduated", properties={"graduated_ranges": ranges})])
    [fee] = ok(_estimate(api, code="calls"))["fees"]
    assert (fee["amount_cents"], fee["units"], fee["events_count"]) == (100, "1.0", 1)
    send(api, "calls")
    settle(api, runtime)  # the stored event does pay the flat fee
    assert [f["amount_cents"] for f in ok(api.get("/fees"))["fees"] if f["item"]["type"] == "charge"] == [
        1100
    ]


def test_estimate_fees_errors_in_lagos_order(api, runtime):
    bm = metric(api, "storage")
    metric(api, "plain")
    setup(api, runtime, NOW, [advance_charge(bm)])
    before = row_counts(runtime)
    missing = api.post("/events/estimate_fees", {"event": {"code": "storage"}})
    assert _error(missing) == (404, "subscription_not_found")
    assert _error(_estimate(api, external_subscription_id="nope", code="storage")) == (
        404,
        "subscription_not_found",
    )
    assert _error(_estimate(api, code="unknown")) == (404, "billable_metric_not_found")
    bad = _estimate(api, code="storage", properties={"value": "ten"})
    assert _error(bad) == (422, {"properties": ["value_is_not_valid_number"]})
    # Float-parsable, so accepted; not a plain decimal, so the aggregation ignores it (as Lago).
    assert ok(_estimate(api, code="storage", properties={"value": "1e2"}))["fees"][0]["amount_cents"] == 0
    assert _error(_estimate(api, code="plain", properties={"value": 1})) == (
        422,
        {"code": ["does_not_match_an_instant_charge"]},
    )
    assert api.post("/events/estimate_fees", {"nothing": {}}).status_code == 400
    assert row_counts(runtime) == before


def test_estimate_instant_fees_percentage_exact_body(api, runtime):
    bm = metric(api, "payments")
    setup(
        api, runtime, NOW, [advance_charge(bm, "percentage", properties={"rate": "0.1", "fixed_amount": "0"})]
    )
    before = row_counts(runtime)
    response = _estimate(
        api,
        "/events/estimate_instant_fees",
        code="payments",
        transaction_id="tr_1",
        properties={"value": 400},
    )
    assert row_counts(runtime) == before
    [fee] = ok(response)["fees"]
    sub, charge_id = subscription_and_charge_ids(api)
    assert fee == {
        "lago_id": None,
        "lago_charge_id": charge_id,
        "lago_charge_filter_id": None,
        "lago_invoice_id": None,
        "lago_true_up_fee_id": None,
        "lago_true_up_parent_fee_id": None,
        **fee_owner(sub),
        "item": metric_item("payments", "Payments", bm["lago_id"]),
        "pay_in_advance": True,
        "invoiceable": True,
        "amount_cents": "40.0",
        "amount_currency": "EUR",
        "precise_amount": "0.4",
        "precise_total_amount": "0.4",
        "taxes_amount_cents": 0,
        "taxes_precise_amount": 0,
        "taxes_rate": 0,
        "total_amount_cents": "40.0",
        "total_amount_currency": "EUR",
        "units": "400.0",
        "description": None,
        "precise_unit_amount": "0.1",
        "precise_coupons_amount_cents": "0.0",
        "events_count": 1,
        "payment_status": "pending",
        "created_at": None,
        "succeeded_at": None,
        "failed_at": None,
        "refunded_at": None,
        "amount_details": None,
        "event_transaction_id": "tr_1",
    }


def test_estimate_instant_fees_standard_with_filter_and_bounds(api, runtime):
    bm = metric(api, "compute", filters=[{"key": "cloud", "values": ["aws", "gcp"]}])
    charge = advance_charge(
        bm,
        properties={"amount": "1"},
        filters=[{"invoice_display_name": None, "properties": {"amount": "3"}, "values": {"cloud": ["aws"]}}],
    )
    percent = advance_charge(
        bm,
        "percentage",
        properties={"rate": "10", "fixed_amount": "1", "per_transaction_max_amount": "2"},
    )
    setup(api, runtime, NOW, [charge, percent])
    fees = ok(
        _estimate(
            api, "/events/estimate_instant_fees", code="compute", properties={"value": "5", "cloud": "aws"}
        )
    )["fees"]
    assert [
        (f["amount_cents"], f["item"]["filters"], f["item"]["filter_invoice_display_name"]) for f in fees
    ] == [
        ("1500.0", {"cloud": ["aws"]}, "aws"),
        ("150.0", None, None),
    ]
    capped = ok(_estimate(api, "/events/estimate_instant_fees", code="compute", properties={"value": "50"}))[
        "fees"
    ]
    assert [f["amount_cents"] for f in capped] == ["5000.0", "200.0"]
    negative = ok(
        _estimate(api, "/events/estimate_instant_fees", code="compute", properties={"value": "-5"})
    )["fees"]
    assert [(f["amount_cents"], f["units"]) for f in negative] == [("0.0", "0.0"), ("0.0", "0.0")]


def test_batch_estimate_instant_fees_groups_events_by_subscription(api, runtime):
    bm = metric(api, "payments")
    setup(
        api, runtime, NOW, [advance_charge(bm, "percentage", properties={"rate": "0.1", "fixed_amount": "0"})]
    )
    ok(
        api.post(
            "/subscriptions",
            {"subscription": {"external_customer_id": "cus_1", "plan_code": "pro", "external_id": "sub_2"}},
        )
    )
    events = [
        {
            "code": "payments",
            "external_subscription_id": "sub_1",
            "transaction_id": "a",
            "properties": {"value": 400},
        },
        {
            "code": "payments",
            "external_subscription_id": "sub_2",
            "transaction_id": "b",
            "properties": {"value": 300},
        },
        {
            "code": "other",
            "external_subscription_id": "sub_1",
            "transaction_id": "c",
            "properties": {"value": 1},
        },
    ]
    fees = ok(api.post("/events/batch_estimate_instant_fees", {"events": events}))["fees"]
    assert [
        (f["event_transaction_id"], f["external_subscription_id"], f["amount_cents"], f["units"])
        for f in fees
    ] == [
        ("a", "sub_1", "40.0", "400.0"),
        ("b", "sub_2", "30.0", "300.0"),
    ]
    missing = api.post(
        "/events/batch_estimate_instant_fees", {"events": [{**events[0], "external_subscription_id": "x"}]}
    )
    assert _error(missing) == (404, "subscription_not_found")


def test_estimate_instant_fees_errors(api, runtime):
    bm = metric(api, "calls", "count_agg")
    ranges = [{"from_value": 0, "to_value": None, "per_unit_amount": "1", "flat_amount": "0"}]
    setup(api, runtime, NOW, [advance_charge(bm, "graduated", properties={"graduated_ranges": ranges})])
    path = "/events/estimate_instant_fees"
    assert _error(_estimate(api, path, external_subscription_id=None, code="calls")) == (
        404,
        "subscription_not_found",
    )
    assert _error(_estimate(api, path, code="calls")) == (422, {"code": ["does_not_match_an_instant_charge"]})
