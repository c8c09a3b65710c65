"""Every aggregation type with exact decimals, boundaries, non-numeric and missing values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

import pytest
from sqlalchemy import text

from billow.core.money import DECIMAL_CONTEXT, ceil
from billow.metering.aggregation import AggregationRequest, MetricSpec, WeightedSumOptions
from billow.metering.store.aggregate_sql import UnsupportedAggregation
from tests.metering.aggregation_helpers import (
    SUB,
    Events,
    F,
    T,
    aggregate,
    at,
    d,
    metric,
    request,
    run,
    tick,
)

HUGE = "123456789012345678901234567890"
NON_NUMERIC = ["abc", "+5", ".5", "5.", "1e5", "1.5.2", "", " 5", "0x10", True]


def test_count_counts_every_event_in_the_window(api, runtime, org):
    metric(api, "calls", "count_agg")
    ev = Events(api, "calls")
    ev.post(
        [
            ev.make(F),  # from: included
            ev.make(T),  # to: included (microsecond precision)
            ev.make(F - timedelta(microseconds=1)),
            ev.make(T + timedelta(microseconds=1)),
            ev.make(at(10), x="anything"),
            ev.make(at(10), sub="other"),
            ev.make(at(10), code="other_code"),
        ]
    )
    e = aggregate(runtime, org, "calls").entry()
    assert (e.units, e.events_count, e.total_aggregated_units) == (d("3"), 3, d("3"))


def test_from_is_floored_to_the_millisecond(api, runtime, org):
    metric(api, "calls", "count_agg")
    ev = Events(api, "calls")
    ev.post([ev.make(at(1, micro=200)), ev.make(at(1, micro=999)), ev.make(at(1, micro=1000))])
    assert aggregate(runtime, org, "calls", start=at(1, micro=900)).entry().units == d("3")
    assert aggregate(runtime, org, "calls", start=at(1, micro=1000)).entry().units == d("1")


def test_empty_window_is_zero(api, runtime, org):
    for code, kind in (("c", "count_agg"), ("s", "sum_agg"), ("m", "max_agg"), ("l", "latest_agg")):
        metric(api, code, kind)
        e = aggregate(runtime, org, code).entry()
        assert (e.units, e.events_count) == (Decimal(0), 0)


def test_sum_is_exact_and_ignores_non_numeric_and_missing(api, runtime, org):
    metric(api, "gb", "sum_agg")
    ev = Events(api, "gb")
    numeric = ["0.1", "0.2", "-0.3", "10", 7, "0.000000001", HUGE, "-" + HUGE, "00012.50"]
    ev.post([ev.make(at(2), v=v) for v in numeric])
    ev.post([ev.make(at(3), v=v) for v in NON_NUMERIC])
    ev.post([ev.make(at(4), other="1"), ev.make(at(4), v=None)])
    e = aggregate(runtime, org, "gb").entry()
    assert e.units == d("29.500000001")
    assert e.events_count == len(numeric)


def test_sum_of_huge_and_tiny_values(api, runtime, org):
    metric(api, "gb", "sum_agg")
    ev = Events(api, "gb")
    ev.post([ev.make(at(2), v=HUGE), ev.make(at(3), v=HUGE), ev.make(at(4), v="0.0000000000001")])
    assert aggregate(runtime, org, "gb").entry().units == d("246913578024691357802469135780.0000000000001")


def test_integer_sum_overflow_falls_back_to_exact(api, runtime, org):
    metric(api, "bytes", "sum_agg")
    ev = Events(api, "bytes")
    big = "4000000000000"  # 4e12 × 10^6 fits in 64 bits; three of them do not
    ev.post([ev.make(at(2), v=big) for _ in range(3)])
    e = aggregate(runtime, org, "bytes").entry()
    assert (e.units, e.events_count) == (d("12000000000000"), 3)


def test_recurring_sum_reads_all_history(api, runtime, org):
    metric(api, "seats", "sum_agg", recurring=True)
    ev = Events(api, "seats")
    ev.post([ev.make(at(5, month=1), v="3"), ev.make(at(2), v="2"), ev.make(at(1, month=4), v="100")])
    e = aggregate(runtime, org, "seats").entry()
    assert (e.units, e.events_count) == (d("5"), 2)


def test_max(api, runtime, org):
    metric(api, "peak", "max_agg")
    metric(api, "neg", "max_agg")
    ev = Events(api, "peak")
    ev.post([ev.make(at(2), v="5"), ev.make(at(3), v="20.25"), ev.make(at(4), v="3"), ev.make(at(5), v="x")])
    e = aggregate(runtime, org, "peak").entry()
    assert (e.units, e.events_count) == (d("20.25"), 3)
    neg = Events(api, "neg")
    neg.post([neg.make(at(2), v="-5"), neg.make(at(3), v="-2.5"), neg.make(at(4), v="-" + HUGE)])
    assert aggregate(runtime, org, "neg").entry().units == d("-2.5")


def test_max_of_huge_values(api, runtime, org):
    metric(api, "peak", "max_agg")
    ev = Events(api, "peak")
    ev.post([ev.make(at(2), v=HUGE), ev.make(at(3), v="1" + HUGE), ev.make(at(4), v="99")])
    assert aggregate(runtime, org, "peak").entry().units == d("1" + HUGE)


def test_latest_orders_by_timestamp_then_created_at(api, runtime, org):
    metric(api, "level", "latest_agg")
    ev = Events(api, "level")
    ev.send(at(3), v="30")
    ev.send(at(5), v="10")
    tick(runtime)
    ev.send(at(5), v="12.5")  # same timestamp, ingested later: wins
    ev.send(at(4), v="99")
    ev.send(at(6), v="oops")  # not numeric: ignored
    e = aggregate(runtime, org, "level").entry()
    assert (e.units, e.events_count) == (d("12.5"), 4)


def test_latest_negative_is_zero(api, runtime, org):
    metric(api, "level", "latest_agg")
    ev = Events(api, "level")
    ev.post([ev.make(at(3), v="30"), ev.make(at(5), v="-4")])
    assert aggregate(runtime, org, "level").entry().units == Decimal(0)


def test_latest_huge(api, runtime, org):
    metric(api, "level", "latest_agg")
    ev = Events(api, "level")
    ev.post([ev.make(at(3), v="30"), ev.make(at(5), v=HUGE)])
    assert aggregate(runtime, org, "level").entry().units == d(HUGE)


def test_unique_count_add_remove(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="user")
    ev = Events(api, "seats")
    ev.post(
        [
            ev.make(at(2), user="a"),
            ev.make(at(3), user="a"),  # repeated add: no-op
            ev.make(at(4), user="b"),
            ev.make(at(5), user="b", operation_type="remove"),
            ev.make(at(6), user="c", operation_type="remove"),  # leading remove: no-op
            ev.make(at(7), user="d", operation_type="remove"),
            ev.make(at(8), user="d"),
            ev.make(at(9), user="e"),
            ev.make(at(10), user="e", operation_type="delete"),  # anything but add removes
            ev.make(at(11), user=5),
            ev.make(at(12), user="5"),  # same text form as the number 5
        ]
    )
    e = aggregate(runtime, org, "seats").entry()
    assert (e.units, e.events_count) == (d("3"), 3)  # a, d, 5


def test_unique_count_missing_property_is_one_value(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="user")
    ev = Events(api, "seats")
    ev.post([ev.make(at(2)), ev.make(at(3), other="x"), ev.make(at(4), user="a")])
    assert aggregate(runtime, org, "seats").entry().units == d("2")


def test_unique_count_same_timestamp_resolved_by_ingestion_order(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="user")
    ev = Events(api, "seats")
    ev.send(at(2), user="a")
    tick(runtime)
    ev.send(at(2), user="a", operation_type="remove")
    ev.send(at(3), user="b", operation_type="remove")
    tick(runtime)
    ev.send(at(3), user="b")
    e = aggregate(runtime, org, "seats").entry()
    assert e.units == d("1")  # a removed (later created), b added


def test_unique_count_recurring_keeps_history(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="user", recurring=True)
    ev = Events(api, "seats")
    ev.post([ev.make(at(2, month=1), user="a"), ev.make(at(3, month=1), user="b"), ev.make(at(4), user="c")])
    ev.post([ev.make(at(5), user="a", operation_type="remove")])
    assert aggregate(runtime, org, "seats").entry().units == d("2")


def test_weighted_sum_unit_vector_v17(api, runtime, org):
    metric(api, "gb", "weighted_sum_agg")
    ev = Events(api, "gb")
    aug = [(0, 0, "2"), (1, 0, "3"), (1, 30, "1"), (2, 0, "-4"), (4, 0, "-2"), (5, 0, "10"), (5, 30, "-10")]
    ev.post([ev.make(at(1, h, m, month=8).replace(year=2023), v=v) for h, m, v in aug])
    start, end = at(1, month=8).replace(year=2023), at(31, 23, 59, 59, 999999, month=8).replace(year=2023)
    e = aggregate(runtime, org, "gb", start=start, end=end, weighted=WeightedSumOptions(31)).entry()
    assert e.units == d("0.02217741935483870968")  # 59 400 / 2 678 400, ceil 20
    assert (e.events_count, e.total_aggregated_units, e.variation) == (7, Decimal(0), Decimal(0))


def test_weighted_sum_same_instant_at_from(api, runtime, org):
    metric(api, "gb", "weighted_sum_agg")
    ev = Events(api, "gb")
    ev.post([ev.make(F, v="3"), ev.make(F, v="3")])
    e = aggregate(runtime, org, "gb", weighted=WeightedSumOptions(31)).entry()
    assert (e.units, e.total_aggregated_units, e.events_count) == (d("6"), d("6"), 2)


def test_weighted_sum_recurring_initial_levels_and_fallback(api, runtime, org):
    metric(api, "gb", "weighted_sum_agg", recurring=True)
    ev = Events(api, "gb")
    ev.post(
        [
            ev.make(at(20, month=2), v="10"),
            ev.make(F - timedelta(milliseconds=500), v="1000"),  # in (F − 1 s, F): read by neither
            ev.make(at(16), v="-4"),
        ]
    )
    supplied = WeightedSumOptions(31, initial_levels={(None, ()): d("8")})
    e = aggregate(runtime, org, "gb", weighted=supplied).entry()
    # 8 for 15 days, 4 for 16 days, over 31 days
    assert e.units == d("5.93548387096774193549")
    assert (e.total_aggregated_units, e.variation, e.events_count) == (d("4"), d("-4"), 1)
    fallback = WeightedSumOptions(31, initial_from_events=True)
    e = aggregate(runtime, org, "gb", weighted=fallback).entry()
    assert e.units == d("7.93548387096774193549")  # 10 for 15 days, 6 for 16 days
    assert (e.total_aggregated_units, e.events_count) == (d("6"), 1)
    e = aggregate(runtime, org, "gb", weighted=WeightedSumOptions(31)).entry()
    assert (e.units, e.total_aggregated_units) == (d("-2.06451612903225806451"), d("-4"))


def test_weighted_sum_non_recurring_ignores_initial_level(api, runtime, org):
    metric(api, "gb", "weighted_sum_agg")
    ev = Events(api, "gb")
    ev.send(at(16), v="4")
    options = WeightedSumOptions(31, initial_levels={(None, ()): d("8")}, initial_from_events=True)
    e = aggregate(runtime, org, "gb", weighted=options).entry()
    assert (e.units, e.total_aggregated_units) == (d("2.06451612903225806452"), d("4"))


def test_value_read_from_json_when_metric_came_later(api, runtime, org):
    ev = Events(api, "late")
    ev.post([ev.make(at(2), v="1.5"), ev.make(at(3), v=2), ev.make(at(4), v="nope")])
    metric(api, "late", "sum_agg")
    ev.post([ev.make(at(5), v="0.25")])
    e = aggregate(runtime, org, "late").entry()
    assert (e.units, e.events_count) == (d("3.75"), 3)


def test_value_read_from_json_after_field_change(api, runtime, org):
    metric(api, "gb", "sum_agg", field_name="a")
    ev = Events(api, "gb")
    ev.post([ev.make(at(2), a="1", b="10"), ev.make(at(3), a="2", b="20")])
    r = api.put("/billable_metrics/gb", {"billable_metric": {"field_name": "b"}})
    assert r.status_code == 200, r.text
    ev.post([ev.make(at(4), a="3", b="30")])
    assert aggregate(runtime, org, "gb").entry().units == d("60")


@pytest.mark.parametrize(
    ("function", "precision", "expected"),
    [
        ("round", 2, "123.46"),
        ("ceil", 2, "123.46"),
        ("floor", 2, "123.45"),
        ("round", None, "123"),
        ("ceil", None, "124"),
        ("floor", None, "123"),
        ("round", -2, "100"),
        ("ceil", -2, "200"),
        ("floor", -2, "100"),
    ],
)
def test_rounding_v36(api, runtime, org, function, precision, expected):
    fields = {"rounding_function": function}
    if precision is not None:
        fields["rounding_precision"] = precision
    metric(api, "gb", "sum_agg", **fields)
    Events(api, "gb").send(at(2), v="123.456")
    assert aggregate(runtime, org, "gb").entry().units == d(expected)


def test_custom_agg_is_unsupported(runtime, org):
    spec = MetricSpec(code="x", aggregation_type="custom_agg")
    req = AggregationRequest(org.id, SUB, spec, F, T)
    with pytest.raises(UnsupportedAggregation):
        run(runtime, org, req)


def test_deleted_events_are_ignored(api, runtime, org):
    metric(api, "calls", "count_agg")
    ev = Events(api, "calls")
    events = [ev.make(at(2)), ev.make(at(3))]
    ev.post(events)
    with runtime.db.session() as session:
        tx = events[0]["transaction_id"]
        session.execute(
            text("UPDATE events SET deleted_at = created_at WHERE transaction_id = :t"), {"t": tx}
        )
    req = request(runtime, org, "calls")
    assert run(runtime, org, req).entry().units == d("1")


def test_precise_total_amount_cents_v15(api, runtime, org):
    metric(api, "dyn", "sum_agg", field_name="v")
    ev = Events(api, "dyn")
    ev.send(at(2), v="1", region="eu")
    ev.post(
        [
            {**ev.make(at(3), v="1", region="eu"), "precise_total_amount_cents": "10.1"},
            {**ev.make(at(4), v="2", region="us"), "precise_total_amount_cents": "901.9"},
            {**ev.make(at(5), v="x", region="us"), "precise_total_amount_cents": "5"},  # not numeric: ignored
        ]
    )
    e = aggregate(runtime, org, "dyn", precise_total_amount=True).entry()
    assert (e.units, e.precise_total_amount_cents) == (d("4"), d("912.0"))
    grouped = aggregate(runtime, org, "dyn", precise_total_amount=True, group_keys=["region"])
    assert {x.group["region"]: x.precise_total_amount_cents for x in grouped.entries} == {
        "eu": d("10.1"),
        "us": d("901.9"),
    }


def test_event_values_for_the_percentage_model(api, runtime, org):
    for code, kind in (("s", "sum_agg"), ("m", "max_agg"), ("c", "count_agg"), ("u", "unique_count_agg")):
        metric(api, code, kind)
        ev = Events(api, code)
        ev.post(
            [ev.make(at(4), v="3"), ev.make(at(2), v="10"), ev.make(at(3), v="10"), ev.make(at(5), v="no")]
        )
    assert aggregate(runtime, org, "s", event_values=True).entry().event_values == (d("10"), d("10"), d("3"))
    assert aggregate(runtime, org, "m", event_values=True).entry().event_values == (d("10"), d("0"), d("0"))
    assert aggregate(runtime, org, "c", event_values=True).entry().event_values == (Decimal(1),) * 4
    assert aggregate(runtime, org, "u", event_values=True).entry().event_values == (Decimal(1),) * 4


def test_high_water_of_count_and_unique_count(api, runtime, org):
    from billow.metering.aggregation import HighWater

    metric(api, "c", "count_agg")
    metric(api, "u", "unique_count_agg", field_name="id")
    ev = Events(api, "c")
    ev.post([ev.make(at(2)), ev.make(at(3))])
    assert aggregate(runtime, org, "c", high_water=True).entry().high_water == HighWater(d("2"), d("2"))
    ev = Events(api, "u")
    ev.post([ev.make(at(2), id="a"), ev.make(at(3), id="b"), ev.make(at(4), id="a", operation_type="remove")])
    assert aggregate(runtime, org, "u", high_water=True).entry().high_water == HighWater(d("1"), d("2"))


def test_weighted_sum_large_values_and_long_periods(api, runtime, org):
    metric(api, "gb", "weighted_sum_agg")
    ev = Events(api, "gb")
    ev.post([ev.make(F, v="2000000.5"), ev.make(F, v="3"), ev.make(at(16), v="-" + HUGE)])
    e = aggregate(runtime, org, "gb", weighted=WeightedSumOptions(31)).entry()
    # 2000003.5 for 31 days, minus HUGE for 16 days
    with localcontext(DECIMAL_CONTEXT):
        expected = ceil((Decimal("2000003.5") * 31 - Decimal(HUGE) * 16) / 31, 20)
        level = Decimal("2000003.5") - Decimal(HUGE)
    assert e.units == expected
    year_end = datetime(2025, 2, 28, 23, 59, 59, 999999, tzinfo=UTC)
    e = aggregate(runtime, org, "gb", end=year_end, weighted=WeightedSumOptions(365)).entry()
    assert e.total_aggregated_units == level


def test_unique_count_mixes_stored_text_and_json_rows(api, runtime, org):
    """Events stored before the metric existed carry no ``value_text`` for its field (read from
    the JSON); later ones carry it (read from the column): one value is one value either way,
    including numbers, booleans and floats in exponent form."""
    ev = Events(api, "seats")
    ev.post(
        [
            ev.make(at(2), user="a"),
            ev.make(at(2), user=7),
            ev.make(at(2), user=1e-7),
            ev.make(at(2), user=True),
            ev.make(at(2), user="b"),
            ev.make(at(2), user="z", operation_type="remove"),
        ]
    )
    metric(api, "seats", "unique_count_agg", field_name="user")
    ev.post(
        [
            ev.make(at(3), user="a"),
            ev.make(at(3), user=7),
            ev.make(at(3), user=1e-7),
            ev.make(at(3), user=True),
            ev.make(at(3), user="c"),
            ev.make(at(4), user="b", operation_type="remove"),
            ev.make(at(5), user="z"),
        ]
    )
    with runtime.db.session() as s:
        stored = s.execute(
            text("SELECT value_field, COUNT(*) FROM events WHERE code = 'seats' GROUP BY value_field")
        ).all()
    assert sorted(stored, key=lambda r: str(r[0])) == [(None, 6), ("user", 7)]
    e = aggregate(runtime, org, "seats").entry()
    assert e.units == d("6")  # a, 7, 1e-7, true, c, z (b removed)


def test_weighted_sum_rows_without_stored_epoch(api, runtime, org):
    """A row stored without ``timestamp_us`` (nullable column; SQLite) weighs the same as one
    with it: the engine parses the timestamp text instead."""
    metric(api, "gb", "weighted_sum_agg")
    ev = Events(api, "gb")
    aug = [(0, 0, "2"), (1, 0, "3"), (1, 30, "1"), (2, 0, "-4"), (4, 0, "-2"), (5, 0, "10"), (5, 30, "-10")]
    ev.post([ev.make(at(1, h, m, 7, 123456, month=8).replace(year=2023), v=v) for h, m, v in aug])
    start, end = at(1, month=8).replace(year=2023), at(31, 23, 59, 59, 999999, month=8).replace(year=2023)
    options = WeightedSumOptions(31)
    before = aggregate(runtime, org, "gb", start=start, end=end, weighted=options).entry()
    with runtime.db.session() as s:
        if not runtime.db.is_postgres:
            stored = s.execute(text("SELECT COUNT(timestamp_us) FROM events WHERE code = 'gb'")).scalar()
            assert stored == 7  # ingestion writes it on SQLite
        s.execute(text("UPDATE events SET timestamp_us = NULL WHERE code = 'gb' AND value IN ('3', '10')"))
        s.commit()
    after = aggregate(runtime, org, "gb", start=start, end=end, weighted=options).entry()
    assert after == before
    assert before.events_count == 7
