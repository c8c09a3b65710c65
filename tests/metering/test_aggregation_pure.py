"""The pure half of the engine: bucket planning, unit arithmetic, timezone segments."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billow.metering.aggregation import ALL_FILTER_VALUES, FilterSpec, HighWater, MetricSpec, plan_buckets
from billow.metering.aggregation.timezones import offset_segments
from billow.metering.aggregation.units import (
    apply_rounding,
    ceil_to_second,
    floor_to_millisecond,
    high_water_replay,
    weighted_units,
)
from billow.metering.store.aggregate_main import decode_group

METRIC = MetricSpec("m", "sum_agg", "v", filters={"cloud": ["aws", "gcp", "azure"], "region": ["eu", "us"]})


def plan(*specs: FilterSpec):
    return plan_buckets(METRIC, specs, ())


def test_subset_and_more_keys_are_exclusive_in_specificity_order():
    p = plan(
        FilterSpec("all", {"cloud": ["aws", "gcp"]}),
        FilterSpec("aws", {"cloud": ["aws"]}),
        FilterSpec("aws_eu", {"cloud": ["aws"], "region": ["eu"]}),
    )
    assert p.exclusive
    assert [p.buckets[i].filter_id for i in p.specificity] == ["aws_eu", "aws", "all"]
    assert p.bucket_for_event({"cloud": "aws", "region": "eu"}).filter_id == "aws_eu"
    assert p.bucket_for_event({"cloud": "aws"}).filter_id == "aws"
    assert p.bucket_for_event({"cloud": "gcp"}).filter_id == "all"
    assert p.bucket_for_event({"cloud": "azure"}).filter_id is None


def test_identical_filters_older_keeps_events():
    p = plan(FilterSpec("A", {"cloud": ["aws"]}), FilterSpec("B", {"cloud": ["aws"]}))
    assert p.exclusive
    event = {"cloud": "aws"}
    assert [b.contains(event) for b in p.buckets] == [True, False, False]


@pytest.mark.parametrize(
    "specs",
    [
        (FilterSpec("a", {"cloud": ["aws", "gcp"]}), FilterSpec("b", {"cloud": ["aws", "azure"]})),
        (FilterSpec("a", {"cloud": ["aws"]}), FilterSpec("b", {"region": ["eu"]})),
        (FilterSpec("a", {"cloud": ["aws"]}), FilterSpec("b", {"cloud": ["aws"], "region": [""]})),
    ],
)
def test_overlaps_are_not_exclusive(specs):
    assert not plan(*specs).exclusive


def test_disjoint_values_are_exclusive():
    assert plan(
        FilterSpec("a", {"cloud": ["aws"]}), FilterSpec("b", {"cloud": ["gcp"], "region": ["eu"]})
    ).exclusive


def test_all_values_and_undeclared_keys():
    p = plan(FilterSpec("any", {"cloud": [ALL_FILTER_VALUES]}), FilterSpec("ghost", {"tier": ["gold"]}))
    assert p.buckets[0].match[0].values == ("aws", "gcp", "azure")
    assert p.buckets[1].never and not p.buckets[1].contains({"tier": "gold"})
    assert p.bucket_for_event({"cloud": "gcp"}).filter_id == "any"


def test_non_subset_same_key_child_excludes_only_its_extra_values():
    p = plan(FilterSpec("a", {"cloud": ["aws", "gcp"]}), FilterSpec("b", {"cloud": ["aws", "azure"]}))
    a, b = p.buckets[0], p.buckets[1]
    assert a.contains({"cloud": "aws"}) and b.contains({"cloud": "aws"})  # counted twice, as Lago
    assert not a.contains({"cloud": "azure"})


def test_default_bucket_excludes_every_filter():
    p = plan(FilterSpec("aws", {"cloud": ["aws"]}))
    assert not p.default.contains({"cloud": "aws"})
    assert p.default.contains({"cloud": "oracle"}) and p.default.contains({})


@pytest.mark.parametrize(
    ("function", "precision", "expected"),
    [("round", 2, "123.46"), ("ceil", None, "124"), ("floor", -2, "100"), (None, 3, "123.456")],
)
def test_rounding(function, precision, expected):
    metric = MetricSpec("m", "sum_agg", rounding_function=function, rounding_precision=precision)
    assert apply_rounding(metric, Decimal("123.456")) == Decimal(expected)


def test_high_water_rule():
    added, state = high_water_replay([Decimal(v) for v in (10, -4, 8)])
    assert added == [Decimal(10), Decimal(0), Decimal(4)]
    assert state == HighWater(Decimal(14), Decimal(14))
    added, state = high_water_replay([Decimal(v) for v in (-3, 5, 1)])
    assert added == [Decimal(0), Decimal(5), Decimal(1)]


def test_weighted_units_and_bounds():
    day = 86_400 * 1_000_000
    assert weighted_units(Decimal(0), Decimal(7), 31 * day, 31) == Decimal(7)
    assert weighted_units(Decimal(2) * day, Decimal(0), 31 * day, 31) == Decimal("0.06451612903225806452")
    assert weighted_units(Decimal(1), Decimal(0), day, 0) == Decimal(0)
    moment = datetime(2024, 3, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert ceil_to_second(moment) == datetime(2024, 4, 1, tzinfo=UTC)
    assert floor_to_millisecond(moment) == datetime(2024, 3, 31, 23, 59, 59, 999000, tzinfo=UTC)


def test_offset_segments_around_dst():
    start, end = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC)
    assert offset_segments("Europe/Paris", start, end) == (
        (datetime(2024, 3, 31, 1, tzinfo=UTC), 3600),
        (None, 7200),
    )
    assert offset_segments("UTC", start, end) == ((None, 0),)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ('"eu"', "eu"),
        ('""', None),
        ("null", None),
        (None, None),
        ("5", "5"),
        ("true", "true"),
        ('"a\\"b"', 'a"b'),
    ],
)
def test_group_json_decoding(raw, text):
    assert decode_group(raw) == text
