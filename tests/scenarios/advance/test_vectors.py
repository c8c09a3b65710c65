"""metering.md §6 V19–V23: pay-in-advance fees through the public API and the test clock (events
→ ``billing.pay_in_advance`` job → one fee per event), exact amounts and units."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.advance.helpers import advance_charge, advance_fees, amounts, metric, send, settle, setup, units

pytestmark = pytest.mark.slow

NOW = datetime(2024, 3, 10, 9, tzinfo=UTC)


def test_v21_sum_standard_charges_only_the_rise_above_the_high_water_mark(api, runtime):
    bm = metric(api, "storage")
    setup(api, runtime, NOW, [advance_charge(bm, properties={"amount": "1"})])
    for value in (10, -4, 8):
        send(api, "storage", value=value)
    settle(api, runtime)
    assert amounts(api) == [1000, 0, 400]
    assert units(api) == ["10.0", "0.0", "4.0"]
    fees = advance_fees(api)
    assert [f["precise_unit_amount"] for f in fees] == ["1.0", "0.0", "1.0"]
    assert {(f["events_count"], f["pay_in_advance"], f["total_aggregated_units"]) for f in fees} == {
        (1, True, "10.0"),
        (1, True, "0.0"),
        (1, True, "4.0"),
    }


def test_sum_below_the_mark_shows_its_own_units_at_no_charge(api, runtime):
    bm = metric(api, "storage")
    setup(api, runtime, NOW, [advance_charge(bm, properties={"amount": "1"})])
    for value in (10, -4, 2, 5):
        send(api, "storage", value=value)
    settle(api, runtime)
    # 10 → mark 10; 6; 8 (below the mark: shows 2, charges 0); 13 → 3 above the mark.
    assert amounts(api) == [1000, 0, 0, 300]
    assert units(api) == ["10.0", "0.0", "2.0", "3.0"]


def test_v22_count_graduated_same_second(api, runtime):
    bm = metric(api, "calls", "count_agg")
    ranges = [
        {"from_value": 0, "to_value": 2, "per_unit_amount": "0", "flat_amount": "0"},
        {"from_value": 3, "to_value": None, "per_unit_amount": "2", "flat_amount": "0"},
    ]
    setup(api, runtime, NOW, [advance_charge(bm, "graduated", properties={"graduated_ranges": ranges})])
    for _ in range(3):
        send(api, "calls", when=NOW)
    settle(api, runtime)
    assert amounts(api) == [0, 0, 200]
    assert units(api) == ["1.0", "1.0", "1.0"]


def test_graduated_first_tier_flat_fee_goes_to_the_first_event(api, runtime):
    bm = metric(api, "calls", "count_agg")
    ranges = [
        {"from_value": 0, "to_value": 2, "per_unit_amount": "1", "flat_amount": "10"},
        {"from_value": 3, "to_value": None, "per_unit_amount": "2", "flat_amount": "5"},
    ]
    setup(api, runtime, NOW, [advance_charge(bm, "graduated", properties={"graduated_ranges": ranges})])
    for _ in range(4):
        send(api, "calls")
    settle(api, runtime)
    assert amounts(api) == [1100, 100, 700, 200]


def test_v23_unique_count_standard(api, runtime):
    bm = metric(api, "seats", "unique_count_agg")
    setup(api, runtime, NOW, [advance_charge(bm, properties={"amount": "12"})])
    for seat, operation in (
        ("id_1", "add"),
        ("id_1", "remove"),
        ("id_1", "add"),
        ("id_2", "add"),
        ("id_2", "add"),
        ("id_3", "add"),
        ("id_3", "remove"),
    ):
        send(api, "seats", value=seat, operation_type=operation)
    settle(api, runtime)
    assert amounts(api) == [1200, 0, 0, 1200, 0, 1200, 0]
    assert units(api) == ["1.0", "0.0", "0.0", "1.0", "0.0", "1.0", "0.0"]


def test_v19_prorated_recurring_sum(api, runtime):
    bm = metric(api, "seats", recurring=True)
    feb6 = datetime(2024, 2, 6, 10, tzinfo=UTC)
    charge = advance_charge(bm, prorated=True, properties={"amount": "29"})
    setup(api, runtime, feb6, [charge], subscription_at="2024-02-01T00:00:00Z")
    for value in (10, -5, 2):
        send(api, "seats", when=feb6, value=value)
    settle(api, runtime)
    # 10 × ceil(24/29, 5) = 8.27587 units × 29 = 240.00023 → 24 000; then nothing above the mark.
    assert amounts(api) == [24000, 0, 0]
    assert units(api) == ["10.0", "0.0", "2.0"]
    first = advance_fees(api)[0]
    assert first["precise_amount"] == "240.00023"
    assert (first["from_date"], first["to_date"]) == ("2024-02-01T00:00:00Z", "2024-02-29T23:59:59Z")


def test_v20_prorated_recurring_unique_count_from_feb_23(api, runtime):
    bm = metric(api, "seats", "unique_count_agg", recurring=True)
    feb23 = datetime(2024, 2, 23, 8, tzinfo=UTC)
    setup(
        api,
        runtime,
        feb23,
        [advance_charge(bm, prorated=True, properties={"amount": "1"})],
        subscription_at="2024-02-23T08:00:00Z",
    )
    send(api, "seats", when=datetime(2024, 2, 23, 9, tzinfo=UTC), value="seat_1")
    send(api, "seats", when=datetime(2024, 2, 29, 9, tzinfo=UTC), value="seat_1", operation_type="remove")
    send(api, "seats", when=datetime(2024, 2, 29, 10, tzinfo=UTC), value="seat_1", operation_type="remove")
    settle(api, runtime)
    # ceil(7/29, 5) = 0.24138 → 24 cents; removals add nothing.
    assert amounts(api) == [24, 0, 0]
    assert units(api) == ["1.0", "0.0", "0.0"]
    assert advance_fees(api)[0]["precise_amount"] == "0.24138"


def test_filter_with_most_keys_prices_the_event_and_groups(api, runtime):
    bm = metric(
        api,
        "compute",
        filters=[{"key": "cloud", "values": ["aws", "gcp"]}, {"key": "region", "values": ["eu", "us"]}],
    )
    charge = advance_charge(
        bm,
        properties={"amount": "1"},
        filters=[
            {"invoice_display_name": "AWS", "properties": {"amount": "2"}, "values": {"cloud": ["aws"]}},
            {
                "invoice_display_name": "AWS EU",
                "properties": {"amount": "3", "pricing_group_keys": ["team"]},
                "values": {"cloud": ["aws"], "region": ["eu"]},
            },
        ],
    )
    setup(api, runtime, NOW, [charge])
    send(api, "compute", value=10, cloud="aws", region="eu", team="core")
    send(api, "compute", value=10, cloud="aws", region="us")
    send(api, "compute", value=10, cloud="gcp")
    send(api, "compute", value=5, cloud="aws", region="eu", team="data")
    settle(api, runtime)
    fees = advance_fees(api)
    assert [f["amount_cents"] for f in fees] == [3000, 2000, 1000, 1500]
    assert [f["item"]["filter_invoice_display_name"] for f in fees] == ["AWS EU", "AWS", None, "AWS EU"]
    assert [f["item"]["grouped_by"] for f in fees] == [{"team": "core"}, {}, {}, {"team": "data"}]
    assert fees[0]["item"]["filters"] == {"cloud": ["aws"], "region": ["eu"]}
