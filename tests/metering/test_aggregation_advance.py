"""Pay-in-advance: the units each stored event adds (§3.8) and the period high-water state."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billow.metering.aggregation import FilterSpec, HighWater, ProrationOptions
from billow.metering.aggregation.units import high_water_replay
from tests.metering.aggregation_helpers import (
    Events,
    aggregate,
    at,
    d,
    fresh_org,
    metric,
    request,
    run,
    units_of,
)

CLOUD = [{"key": "cloud", "values": ["aws", "gcp"]}]


def _replay(api, runtime, org, code, events, **req):
    """Post each event, then ask for its units (as the pay-in-advance job does)."""
    ev = Events(api, code)
    out = []
    for day, props in events:
        sent = ev.send(at(day), **props)
        out.append(units_of(runtime, org, request(runtime, org, code, **req), sent["transaction_id"]))
    return out


def test_v21_sum_high_water(api, runtime, org):
    metric(api, "gb", "sum_agg")
    got = _replay(api, runtime, org, "gb", [(2, {"v": "10"}), (3, {"v": "-4"}), (4, {"v": "8"})])
    assert [g.units for g in got] == [d("10"), d("0"), d("4")]
    assert [g.entry.units for g in got] == [d("10"), d("6"), d("14")]
    assert got[-1].high_water == HighWater(d("14"), d("14"))
    assert all(g.entry.events_count == i + 1 for i, g in enumerate(got))


def test_sum_first_event_negative_follows_the_spec(api, runtime, org):
    metric(api, "gb", "sum_agg")
    got = _replay(api, runtime, org, "gb", [(2, {"v": "-3"}), (3, {"v": "5"}), (4, {"v": "1"})])
    assert [g.units for g in got] == [d("0"), d("5"), d("1")]


def test_v22_count_same_second_batch(api, runtime, org):
    metric(api, "calls", "count_agg")
    ev = Events(api, "calls")
    batch = [ev.make(at(2)) for _ in range(3)]
    ev.post(batch)
    req = request(runtime, org, "calls")
    got = [units_of(runtime, org, req, e["transaction_id"]) for e in batch]
    assert [g.units for g in got] == [Decimal(1)] * 3
    assert sorted(g.entry.units for g in got) == [d("1"), d("2"), d("3")]  # ties: ingestion order


def test_v23_unique_count(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="id")
    events = [
        (2, {"id": "id_1"}),
        (3, {"id": "id_1", "operation_type": "remove"}),
        (4, {"id": "id_1"}),
        (5, {"id": "id_2"}),
        (6, {"id": "id_2"}),
        (7, {"id": "id_3"}),
        (8, {"id": "id_3", "operation_type": "remove"}),
    ]
    got = _replay(api, runtime, org, "seats", events)
    assert [g.units for g in got] == [d(x) for x in "1001010"]
    assert got[-1].entry.units == d("2")


def test_recurring_sum_is_relative_to_the_period(api, runtime, org):
    metric(api, "seats", "sum_agg", recurring=True)
    ev = Events(api, "seats")
    ev.send(at(5, month=1), v="5")
    got = _replay(api, runtime, org, "seats", [(2, {"v": "3"}), (3, {"v": "-1"}), (4, {"v": "2"})])
    assert [g.units for g in got] == [d("3"), d("0"), d("1")]
    assert [g.entry.units for g in got] == [d("8"), d("7"), d("9")]


def test_recurring_unique_count_sees_values_added_before(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="id", recurring=True)
    Events(api, "seats").send(at(5, month=1), id="a")
    got = _replay(api, runtime, org, "seats", [(2, {"id": "a"}), (3, {"id": "b"}), (4, {"id": "c"})])
    assert [g.units for g in got] == [d("0"), d("1"), d("1")]
    assert got[-1].entry.units == d("3")


def test_v19_prorated_sum_in_advance(api, runtime, org):
    metric(api, "seats", "sum_agg", recurring=True)
    feb = {
        "start": datetime(2024, 2, 1, tzinfo=UTC),
        "end": datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        "proration": ProrationOptions(29, "UTC"),
    }
    ev = Events(api, "seats")
    got = []
    for hour, value in ((10, "10"), (11, "-5"), (12, "2")):
        sent = ev.send(datetime(2024, 2, 6, hour, tzinfo=UTC), v=value)
        got.append(units_of(runtime, org, request(runtime, org, "seats", **feb), sent["transaction_id"]))
    assert [g.units for g in got] == [d("10"), d("0"), d("0")]
    assert got[0].prorated_units == d("8.27587")  # 10 × 24/29, ceil 5
    assert [g.entry.full_units_number for g in got] == [d("10"), d("5"), d("7")]


def test_v20_prorated_unique_in_advance(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="seat", recurring=True)
    window = {
        "start": datetime(2024, 2, 23, tzinfo=UTC),
        "end": datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        "proration": ProrationOptions(29, "UTC"),
    }
    sent = Events(api, "seats").send(datetime(2024, 2, 23, 9, tzinfo=UTC), seat="s1")
    got = units_of(runtime, org, request(runtime, org, "seats", **window), sent["transaction_id"])
    assert (got.units, got.prorated_units) == (d("1"), d("0.24138"))


def test_bucket_and_group_of_the_event(api, runtime, org):
    metric(api, "gb", "sum_agg", filters=CLOUD)
    ev = Events(api, "gb")
    ev.post(
        [ev.make(at(2), cloud="aws", region="eu", v="1"), ev.make(at(2), cloud="aws", region="us", v="2")]
    )
    filters = [
        FilterSpec("all", {"cloud": ["aws", "gcp"]}),
        FilterSpec("aws", {"cloud": ["aws"]}, ["region"]),
    ]
    sent = ev.send(at(3), cloud="aws", region="eu", v="4")
    got = units_of(runtime, org, request(runtime, org, "gb", filters=filters), sent["transaction_id"])
    assert (got.filter_id, dict(got.group)) == ("aws", {"region": "eu"})
    assert (got.entry.units, got.units) == (d("5"), d("4"))
    sent = ev.send(at(4), cloud="gcp", v="8")
    got = units_of(runtime, org, request(runtime, org, "gb", filters=filters), sent["transaction_id"])
    assert (got.filter_id, got.entry.units, got.units) == ("all", d("8"), d("8"))
    sent = ev.send(at(5), cloud="oracle", v="16")
    got = units_of(runtime, org, request(runtime, org, "gb", filters=filters), sent["transaction_id"])
    assert (got.filter_id, got.entry.units) == (None, d("16"))


def test_high_water_in_period_aggregation(api, runtime, org):
    metric(api, "gb", "sum_agg")
    ev = Events(api, "gb")
    ev.post([ev.make(at(2), v="10"), ev.make(at(3), v="-4"), ev.make(at(4), v="2")])
    e = aggregate(runtime, org, "gb", high_water=True).entry()
    assert (e.units, e.high_water) == (d("8"), HighWater(d("8"), d("10")))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(-20, 20), min_size=1, max_size=8))
def test_sql_high_water_matches_the_reference(runtime, app_client, values):
    """The set-based running sum / running max equals the step-by-step rule of §3.8."""
    org, api = fresh_org(runtime, app_client)
    metric(api, "gb", "sum_agg")
    ev = Events(api, "gb")
    batch = [ev.make(at(1, second=i), v=str(v)) for i, v in enumerate(values)]
    ev.post(batch)
    expected, state = high_water_replay(Decimal(v) for v in values)
    assert run(runtime, org, request(runtime, org, "gb", high_water=True)).entry().high_water == state
    req = request(runtime, org, "gb")
    assert [units_of(runtime, org, req, b["transaction_id"]).units for b in batch] == expected
