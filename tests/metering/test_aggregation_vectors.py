"""metering.md §6 test vectors, unit side (events through the real API, then the engine).

Every vector about units, and the test that pins it with exact ``Decimal`` values (each runs on
SQLite and, with ``BILLOW_TEST_DATABASE_URL``, on PostgreSQL). Amount-only vectors (V6–V14,
V26–V30, V33–V35) belong to the charge models and billing. ``<x>`` = ``test_aggregation_<x>.py``.

| vector | what | test |
|---|---|---|
| V1 | count, 3 events → 3, events_count 3 | here ``test_v1_count`` |
| V2 | count grouped by region → us 2, eu 1 | filters ``test_grouped_count_v2`` |
| V3 | sum, cloud filters → aws 100, gcp 200, default 0 | filters ``test_filters_v3`` |
| V4 | max 5, 20, 3 → 5, 20, 20 (events_count 3) | here ``test_v4_max_after_each_event`` |
| V5 | latest 10, 3, 50 → 10, 3, 50 | here ``test_v5_latest_after_each_event`` |
| V15 | Σ precise_total_amount_cents (dynamic) | types ``test_precise_total_amount_cents_v15`` |
| V16 | weighted sum recurring, March/April carry-over | here ``test_v16_weighted_sum_recurring`` |
| V17 | weighted sum 0.02218; +3, +3 at F → 6 | types ``test_weighted_sum_unit_vector_v17``, |
|  |  | types ``test_weighted_sum_same_instant_at_from`` |
| V18 | unique count recurring, 3 group keys → 3 | here ``test_v18_unique_count_recurring_grouped`` |
| V19 | prorated recurring sum, units 10 / 5 / 7 | here ``test_v19_prorated_recurring_sum_units``, |
|  |  | advance ``test_v19_prorated_sum_in_advance`` |
| V20 | prorated unique count 7/29, 1 then 0 | here ``test_v20_prorated_unique_count``, |
|  |  | advance ``test_v20_prorated_unique_in_advance`` |
| V21 | sum in advance +10, −4, +8 → 10, 0, 4 | advance ``test_v21_sum_high_water`` |
| V22 | count in advance, 3 events in one second | advance ``test_v22_count_same_second_batch`` |
| V23 | unique count in advance, add/remove | advance ``test_v23_unique_count`` |
| V24 | prorated graduated, units and cents | here ``test_v24_prorated_graduated`` |
| V25 | prorated graduated, units carried over | here ``test_v25_prorated_graduated_carried_units`` |
| V31 | overlapping subset filters | filters ``test_overlapping_subset_filters_v31`` |
| V32 | identical filters, the older wins | filters ``test_identical_filters_older_wins_v32`` |
| V36 | rounding 123.456 at 2, null, −2 | types ``test_rounding_v36``, pure ``test_rounding`` |
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from billow.core.money import round_half_up
from billow.metering.aggregation import ProrationOptions, WeightedSumOptions
from billow.pricing.charge_models import ChargeInput, GraduatedModel, ProratedEventValue
from tests.metering.aggregation_helpers import Events, aggregate, at, d, metric


def dt(y: int, m: int, day: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, m, day, h, mi, s, us, tzinfo=UTC)


def end_of(y: int, m: int, day: int) -> datetime:
    return dt(y, m, day, 23, 59, 59, 999999)


def test_v1_count(api, runtime, org):
    metric(api, "calls", "count_agg")
    ev = Events(api, "calls")
    ev.post([ev.make(at(2)) for _ in range(3)])
    e = aggregate(runtime, org, "calls").entry()
    assert (e.units, e.events_count) == (d("3"), 3)


def test_v4_max_after_each_event(api, runtime, org):
    metric(api, "peak", "max_agg")
    ev = Events(api, "peak")
    seen = []
    for day, value in ((2, "5"), (3, "20"), (4, "3")):
        ev.send(at(day), v=value)
        seen.append(aggregate(runtime, org, "peak").entry().units)
    assert seen == [d("5"), d("20"), d("20")]
    assert aggregate(runtime, org, "peak").entry().events_count == 3


def test_v5_latest_after_each_event(api, runtime, org):
    metric(api, "level", "latest_agg")
    ev = Events(api, "level")
    seen = []
    for day, value in ((2, "10"), (3, "3"), (4, "50")):
        ev.send(at(day), v=value)
        seen.append(aggregate(runtime, org, "level").entry().units)
    assert seen == [d("10"), d("3"), d("50")]


def test_v16_weighted_sum_recurring(api, runtime, org):
    metric(api, "gb", "weighted_sum_agg", recurring=True)
    ev = Events(api, "gb")
    ev.post(
        [
            ev.make(dt(2023, 3, 5), v="2500"),
            ev.make(dt(2023, 4, 4), v="-2000"),
            ev.make(dt(2023, 4, 6), v="-200"),
        ]
    )
    march = aggregate(
        runtime, org, "gb", start=dt(2023, 3, 5), end=end_of(2023, 3, 31), weighted=WeightedSumOptions(31)
    ).entry()
    assert march.units == d("2177.41935483870967741936")
    assert round_half_up(march.units * 100) == 217742
    assert march.total_aggregated_units == d("2500")
    levels = {(None, ()): march.total_aggregated_units}
    for options in (
        WeightedSumOptions(30, initial_levels=levels),
        WeightedSumOptions(30, initial_from_events=True),
    ):
        april = aggregate(
            runtime, org, "gb", start=dt(2023, 4, 1), end=end_of(2023, 4, 30), weighted=options
        ).entry()
        assert april.units == d("533.33333333333333333334")
        assert round_half_up(april.units * 100) == 53333
        assert (april.total_aggregated_units, april.events_count) == (d("300"), 2)


def test_v18_unique_count_recurring_grouped(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="id", recurring=True)
    ev = Events(api, "seats")
    group_08 = {"key_1": "08", "key_2": "x", "key_3": "y"}
    group_06 = {"key_1": "06", "key_2": "x", "key_3": "y"}
    ev.post(
        [
            ev.make(at(2), id="001", **group_08),
            ev.make(at(3), id="001", **group_06),
            ev.make(at(4), id="002", **group_06),
        ]
    )
    result = aggregate(runtime, org, "seats", group_keys=["key_1", "key_2", "key_3"])
    assert sum(e.units for e in result.entries) == d("3")
    assert sorted(e.units for e in result.entries) == [d("1"), d("2")]


def test_v19_prorated_recurring_sum_units(api, runtime, org):
    metric(api, "seats", "sum_agg", recurring=True)
    ev = Events(api, "seats")
    proration = ProrationOptions(29, "UTC")
    seen = []
    for value in ("10", "-5", "2"):
        ev.send(dt(2024, 2, 6), v=value)
        e = aggregate(
            runtime, org, "seats", start=dt(2024, 2, 1), end=end_of(2024, 2, 29), proration=proration
        ).entry()
        seen.append(e.full_units_number)
    assert seen == [d("10"), d("5"), d("7")]


def test_v20_prorated_unique_count(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="seat", recurring=True)
    ev = Events(api, "seats")
    window = {"start": dt(2024, 2, 23), "end": end_of(2024, 2, 29), "proration": ProrationOptions(29, "UTC")}
    ev.send(dt(2024, 2, 23, 10), seat="s1")
    first = aggregate(runtime, org, "seats", **window).entry()
    assert (first.units, first.full_units_number) == (d("0.24138"), d("1"))
    ev.send(dt(2024, 2, 29, 10), seat="s1", operation_type="remove")
    second = aggregate(runtime, org, "seats", **window).entry()
    assert (second.units, second.full_units_number) == (d("0.24138"), d("0"))
    ev.send(dt(2024, 2, 29, 11), seat="s1", operation_type="remove")
    assert aggregate(runtime, org, "seats", **window).entry().units == d("0.24138")
    assert round_half_up(second.units * 100) == 24


GRADUATED = {
    "graduated_ranges": [
        {"from_value": 0, "to_value": 5, "per_unit_amount": "10", "flat_amount": "100"},
        {"from_value": 6, "to_value": 15, "per_unit_amount": "5", "flat_amount": "50"},
        {"from_value": 16, "to_value": None, "per_unit_amount": "2", "flat_amount": "0"},
    ]
}


def _prorated_graduated_cents(entry, properties) -> int:
    events = tuple(ProratedEventValue(p.full, p.prorated) for p in entry.prorated_events)
    inp = ChargeInput(
        units=entry.units,
        properties=properties,
        prorated=True,
        prorated_events=events,
        full_units_number=entry.full_units_number,
    )
    return int(round_half_up(GraduatedModel().compute(inp).amount * 100))


def test_v24_prorated_graduated(api, runtime, org):
    metric(api, "seats", "sum_agg", recurring=True)
    ev = Events(api, "seats")
    window = {"start": dt(2023, 9, 1), "end": end_of(2023, 9, 30), "proration": ProrationOptions(30, "UTC")}
    steps = [(None, None), (10, "2"), (16, "5"), (20, "-6"), (25, "10"), (26, "4"), (30, "60")]
    amounts, full = [], []
    for day, value in steps:
        if day is not None:
            ev.send(dt(2023, 9, day, 12), v=value)
        entry = aggregate(runtime, org, "seats", **window).entry()
        amounts.append(_prorated_graduated_cents(entry, GRADUATED))
        full.append(entry.full_units_number)
    assert amounts == [10000, 11400, 18400, 16567, 17967, 18300, 18700]
    assert full == [d(x) for x in ("0", "2", "7", "1", "11", "15", "75")]
    october = {
        "start": dt(2023, 10, 1),
        "end": end_of(2023, 10, 31),
        "proration": ProrationOptions(31, "UTC"),
    }
    entry = aggregate(runtime, org, "seats", **october).entry()
    assert entry.prorated_events[0].full == d("75")
    assert _prorated_graduated_cents(entry, GRADUATED) == 37000


def test_v25_prorated_graduated_carried_units(api, runtime, org):
    metric(api, "seats", "sum_agg", recurring=True)
    ev = Events(api, "seats")
    ev.post([ev.make(dt(2023, 11, 10), v="5"), ev.make(dt(2023, 11, 20), v="5")])
    ranges = {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 5, "per_unit_amount": "0", "flat_amount": "0"},
            {"from_value": 6, "to_value": None, "per_unit_amount": "12", "flat_amount": "0"},
        ]
    }
    december = {
        "start": dt(2023, 12, 1),
        "end": end_of(2023, 12, 31),
        "proration": ProrationOptions(31, "UTC"),
    }
    entry = aggregate(runtime, org, "seats", **december).entry()
    assert (entry.full_units_number, entry.units) == (d("10"), d("10"))
    assert _prorated_graduated_cents(entry, ranges) == 6000
    ev.send(dt(2024, 1, 6), v="2")
    january = {"start": dt(2024, 1, 1), "end": end_of(2024, 1, 31), "proration": ProrationOptions(31, "UTC")}
    entry = aggregate(runtime, org, "seats", **january).entry()
    assert _prorated_graduated_cents(entry, ranges) == 8013
    assert entry.prorated_events[0].full == d("10")
    assert entry.prorated_events[1].prorated == Decimal(2) * Decimal(26) / Decimal(31)


def test_prorated_sum_local_days(api, runtime, org):
    """Days are counted in the customer's timezone: 23:30 UTC on Mar 10 is Mar 11 in Paris."""
    metric(api, "seats", "sum_agg", recurring=True)
    ev = Events(api, "seats")
    ev.send(dt(2024, 3, 10, 23, 30), v="31")
    utc = aggregate(runtime, org, "seats", proration=ProrationOptions(31, "UTC")).entry()
    paris_month = {"start": dt(2024, 2, 29, 23), "end": dt(2024, 3, 31, 21, 59, 59, 999999)}  # DST on Mar 31
    paris = aggregate(
        runtime, org, "seats", proration=ProrationOptions(31, "Europe/Paris"), **paris_month
    ).entry()
    assert (utc.units, paris.units) == (d("22"), d("21"))
