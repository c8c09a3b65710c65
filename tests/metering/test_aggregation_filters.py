"""Charge filters → buckets (metering.md §3.4) and pricing groups, in SQL, for every type."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billow.metering.aggregation import (
    ALL_FILTER_VALUES,
    FilterSpec,
    MetricSpec,
    WeightedSumOptions,
    plan_buckets,
)
from tests.metering.aggregation_helpers import Events, aggregate, at, d, metric

CLOUD = [{"key": "cloud", "values": ["aws", "gcp", "azure"]}, {"key": "region", "values": ["eu", "us", ""]}]


def units(result, filter_id=None):
    return {tuple(sorted(e.group.items())): e.units for e in result.bucket(filter_id)}


def test_grouped_count_v2(api, runtime, org):
    metric(api, "calls", "count_agg")
    ev = Events(api, "calls")
    ev.post([ev.make(at(2), region="us"), ev.make(at(3), region="us"), ev.make(at(4), region="eu")])
    result = aggregate(runtime, org, "calls", group_keys=["region"])
    assert units(result) == {(("region", "us"),): d("2"), (("region", "eu"),): d("1")}
    assert {e.events_count for e in result.entries} == {2, 1}


def test_filters_v3(api, runtime, org):
    metric(api, "hours", "sum_agg", field_name="hours", filters=CLOUD)
    ev = Events(api, "hours")
    ev.post([ev.make(at(2), cloud="aws", hours="100"), ev.make(at(3), cloud="gcp", hours="200")])
    filters = [FilterSpec("gcp", {"cloud": ["gcp"]}), FilterSpec("aws", {"cloud": ["aws"]})]
    result = aggregate(runtime, org, "hours", filters=filters)
    assert [(e.filter_id, e.units, e.events_count) for e in result.entries] == [
        ("gcp", d("200"), 1),
        ("aws", d("100"), 1),
        (None, Decimal(0), 0),
    ]


def test_overlapping_subset_filters_v31(api, runtime, org):
    metric(api, "hours", "sum_agg", field_name="hours", filters=CLOUD)
    ev = Events(api, "hours")
    ev.post([ev.make(at(2), cloud="aws", hours="10"), ev.make(at(3), cloud="gcp", hours="7")])
    filters = [FilterSpec("all", {"cloud": ["aws", "gcp"]}), FilterSpec("aws", {"cloud": ["aws"]})]
    result = aggregate(runtime, org, "hours", filters=filters)
    assert [(e.filter_id, e.units, e.events_count) for e in result.entries] == [
        ("all", d("7"), 1),
        ("aws", d("10"), 1),
        (None, Decimal(0), 0),
    ]


def test_identical_filters_older_wins_v32(api, runtime, org):
    metric(api, "hours", "sum_agg", field_name="hours", filters=CLOUD)
    Events(api, "hours").send(at(2), cloud="aws", hours="10")
    filters = [FilterSpec("A", {"cloud": ["aws"]}), FilterSpec("B", {"cloud": ["aws"]})]
    result = aggregate(runtime, org, "hours", filters=filters)
    assert [(e.filter_id, e.units) for e in result.entries] == [
        ("A", d("10")),
        ("B", Decimal(0)),
        (None, Decimal(0)),
    ]


def test_overlapping_non_subset_filters_double_count(api, runtime, org):
    metric(api, "hours", "sum_agg", field_name="hours", filters=CLOUD)
    ev = Events(api, "hours")
    ev.post([ev.make(at(2), cloud="aws", region="eu", hours="10"), ev.make(at(3), cloud="gcp", hours="1")])
    filters = [
        FilterSpec("aws_gcp", {"cloud": ["aws", "gcp"]}),
        FilterSpec("aws_azure", {"cloud": ["aws", "azure"]}),
        FilterSpec("eu", {"region": ["eu"]}),
    ]
    assert not plan_buckets(
        MetricSpec("h", "sum_agg", filters={"cloud": ["aws", "gcp", "azure"], "region": ["eu"]}), filters, ()
    ).exclusive
    result = aggregate(runtime, org, "hours", filters=filters)
    assert [(e.filter_id, e.units) for e in result.entries] == [
        ("aws_gcp", d("11")),
        ("aws_azure", d("10")),
        ("eu", d("10")),
        (None, Decimal(0)),
    ]


def test_most_specific_bucket_and_default(api, runtime, org):
    metric(api, "hours", "sum_agg", field_name="hours", filters=CLOUD)
    ev = Events(api, "hours")
    ev.post(
        [
            ev.make(at(2), cloud="aws", region="eu", hours="1"),
            ev.make(at(2), cloud="aws", region="us", hours="2"),
            ev.make(at(2), cloud="gcp", region="eu", hours="4"),
            ev.make(at(2), cloud="oracle", hours="8"),  # not a declared value
            ev.make(at(2), hours="16"),  # no key
            ev.make(at(2), cloud="azure", hours="32"),
        ]
    )
    filters = [
        FilterSpec("aws", {"cloud": ["aws"]}),
        FilterSpec("aws_eu", {"cloud": ["aws"], "region": ["eu"]}),
        FilterSpec("any_eu", {"cloud": [ALL_FILTER_VALUES], "region": ["eu"]}),
    ]
    result = aggregate(runtime, org, "hours", filters=filters)
    assert [(e.filter_id, e.units) for e in result.entries] == [
        ("aws", d("2")),
        ("aws_eu", d("1")),
        ("any_eu", d("4")),
        (None, d("56")),
    ]


def test_only_declared_keys_count(api, runtime, org):
    metric(api, "hours", "sum_agg", field_name="hours", filters=CLOUD)
    ev = Events(api, "hours")
    ev.post([ev.make(at(2), cloud="aws", tier="gold", hours="1"), ev.make(at(2), cloud="aws", hours="2")])
    filters = [
        FilterSpec("aws_gold", {"cloud": ["aws"], "tier": ["gold"]}),
        FilterSpec("ghost", {"tier": ["gold"]}),
    ]
    result = aggregate(runtime, org, "hours", filters=filters)
    assert [(e.filter_id, e.units) for e in result.entries] == [("aws_gold", d("3")), ("ghost", 0), (None, 0)]


def test_empty_string_values_use_lagos_coalesce(api, runtime, org):
    metric(api, "hours", "sum_agg", field_name="hours", filters=CLOUD)
    ev = Events(api, "hours")
    ev.post(
        [
            ev.make(at(2), cloud="aws", hours="1"),
            ev.make(at(2), cloud="aws", region="", hours="2"),
            ev.make(at(2), cloud="aws", region="eu", hours="4"),
            ev.make(at(2), hours="8"),
        ]
    )
    filters = [FilterSpec("aws", {"cloud": ["aws"]}), FilterSpec("blank", {"cloud": ["aws"], "region": [""]})]
    result = aggregate(runtime, org, "hours", filters=filters)
    # the missing region compares as '' in the exclusion only: counted by neither filter
    assert [(e.filter_id, e.units) for e in result.entries] == [
        ("aws", d("4")),
        ("blank", d("2")),
        (None, d("8")),
    ]


def test_filter_group_keys_are_its_own(api, runtime, org):
    metric(api, "hours", "sum_agg", field_name="hours", filters=CLOUD)
    ev = Events(api, "hours")
    ev.post(
        [
            ev.make(at(2), cloud="aws", region="eu", user="u1", hours="1"),
            ev.make(at(2), cloud="aws", region="us", user="u1", hours="2"),
            ev.make(at(2), cloud="gcp", region="eu", user="u2", hours="4"),
            ev.make(at(2), region="", user="u2", hours="8"),
            ev.make(at(2), user="u2", hours="16"),
        ]
    )
    filters = [
        FilterSpec("aws", {"cloud": ["aws"]}, group_keys=["region"]),
        FilterSpec("gcp", {"cloud": ["gcp"]}),
    ]
    result = aggregate(runtime, org, "hours", filters=filters, group_keys=["user", "region"])
    assert units(result, "aws") == {(("region", "eu"),): d("1"), (("region", "us"),): d("2")}
    assert units(result, "gcp") == {(): d("4")}
    assert units(result, None) == {(("region", None), ("user", "u2")): d("24")}


def test_grouped_bucket_without_events_has_one_null_group(api, runtime, org):
    metric(api, "hours", "sum_agg", field_name="hours", filters=CLOUD)
    filters = [FilterSpec("aws", {"cloud": ["aws"]}, group_keys=["region"])]
    result = aggregate(runtime, org, "hours", filters=filters, group_keys=["user"])
    assert [(e.filter_id, dict(e.group), e.units) for e in result.entries] == [
        ("aws", {"region": None}, 0),
        (None, {"user": None}, 0),
    ]


FILTERED_TYPES = [
    ("count_agg", {}, {"aws": ("3", 3), "gcp": ("1", 1), None: ("1", 1)}),
    ("sum_agg", {}, {"aws": ("6.5", 3), "gcp": ("-4", 1), None: ("100", 1)}),
    ("max_agg", {}, {"aws": ("3", 3), "gcp": ("-4", 1), None: ("100", 1)}),
    ("latest_agg", {}, {"aws": ("1.5", 3), "gcp": ("0", 1), None: ("100", 1)}),
    ("unique_count_agg", {}, {"aws": ("3", 3), "gcp": ("1", 1), None: ("1", 1)}),
]


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize(("kind", "fields", "expected"), FILTERED_TYPES)
def test_every_type_with_filters(api, runtime, org, kind, fields, expected, overlap):
    metric(api, "m", kind, **fields, filters=CLOUD)
    ev = Events(api, "m")
    ev.post(
        [
            ev.make(at(2), cloud="aws", v="2"),
            ev.make(at(3), cloud="aws", v="3"),
            ev.make(at(4), cloud="aws", v="1.5"),
            ev.make(at(4), cloud="gcp", v="-4"),
            ev.make(at(5), v="100"),
        ]
    )
    filters = [FilterSpec("aws", {"cloud": ["aws"]}), FilterSpec("gcp", {"cloud": ["gcp"]})]
    if overlap:  # a third filter on another key makes the plan non-exclusive (bitmask path)
        filters.append(FilterSpec("eu", {"region": ["eu"]}))
    result = aggregate(runtime, org, "m", filters=filters)
    for filter_id, (value, count) in expected.items():
        entry = result.entry(filter_id)
        assert (entry.units, entry.events_count) == (d(value), count), filter_id


def test_weighted_sum_with_filters_and_groups(api, runtime, org):
    metric(api, "gb", "weighted_sum_agg", filters=CLOUD)
    ev = Events(api, "gb")
    ev.post(
        [
            ev.make(at(1), cloud="aws", user="a", v="31"),
            ev.make(at(16), cloud="aws", user="a", v="-31"),
            ev.make(at(1), cloud="aws", user="b", v="62"),
            ev.make(at(1), cloud="gcp", user="a", v="1"),
        ]
    )
    filters = [FilterSpec("aws", {"cloud": ["aws"]}, group_keys=["user"])]
    result = aggregate(runtime, org, "gb", filters=filters, weighted=WeightedSumOptions(31))
    assert units(result, "aws") == {(("user", "a"),): d("15"), (("user", "b"),): d("62")}
    assert result.entry(None).units == d("1")


def test_grouped_unique_count_counts_a_value_once_per_group(api, runtime, org):
    metric(api, "seats", "unique_count_agg", field_name="user", recurring=True)
    ev = Events(api, "seats")
    ev.post(
        [
            ev.make(at(2), user="001", key_1="08"),
            ev.make(at(3), user="001", key_1="06"),
            ev.make(at(4), user="002", key_1="06"),
            ev.make(at(5), user="002", key_1="06", operation_type="remove"),
        ]
    )
    result = aggregate(runtime, org, "seats", group_keys=["key_1"])
    assert units(result) == {(("key_1", "08"),): d("1"), (("key_1", "06"),): d("1")}


@pytest.mark.parametrize("kind", ["count_agg", "sum_agg", "max_agg", "latest_agg", "unique_count_agg"])
def test_group_values_by_text_form(api, runtime, org, kind):
    """A number and a string with the same text are one group; '' and a missing key are one."""
    metric(api, "m", kind)
    ev = Events(api, "m")
    ev.post(
        [
            ev.make(at(2), g=5, v="1"),
            ev.make(at(3), g="5", v="2"),
            ev.make(at(4), g=True, v="3"),
            ev.make(at(5), g="true", v="4"),
            ev.make(at(6), g="", v="5"),
            ev.make(at(7), v="6"),
            ev.make(at(8), g=None, v="7"),
            ev.make(at(9), g='café "quoted"', v="8"),
        ]
    )
    result = aggregate(runtime, org, "m", group_keys=["g"])
    expected = {
        "count_agg": {"5": "2", "true": "2", None: "3", 'café "quoted"': "1"},
        "sum_agg": {"5": "3", "true": "7", None: "18", 'café "quoted"': "8"},
        "max_agg": {"5": "2", "true": "4", None: "7", 'café "quoted"': "8"},
        "latest_agg": {"5": "2", "true": "4", None: "7", 'café "quoted"': "8"},
        "unique_count_agg": {"5": "2", "true": "2", None: "3", 'café "quoted"': "1"},
    }[kind]
    assert {e.group["g"]: e.units for e in result.entries} == {k: d(v) for k, v in expected.items()}


@pytest.mark.parametrize("kind", ["count_agg", "sum_agg", "max_agg", "latest_agg", "unique_count_agg"])
def test_buckets_grouped_by_different_keys(api, runtime, org, kind):
    metric(api, "m", kind, filters=CLOUD)
    ev = Events(api, "m")
    ev.post(
        [
            ev.make(at(2), cloud="aws", region="eu", user="a", v="1"),
            ev.make(at(3), cloud="aws", region="eu", user="b", v="2"),
            ev.make(at(4), cloud="aws", region="us", user="a", v="4"),
            ev.make(at(5), cloud="gcp", region="eu", user="a", v="8"),
            ev.make(at(6), region="eu", user="b", v="16"),
        ]
    )
    filters = [
        FilterSpec("aws", {"cloud": ["aws"]}, ["region"]),
        FilterSpec("gcp", {"cloud": ["gcp"]}, ["user"]),
    ]
    result = aggregate(runtime, org, "m", filters=filters, group_keys=["user", "region"])
    by_kind = {
        "count_agg": ({"eu": "2", "us": "1"}, "1", "1"),
        "sum_agg": ({"eu": "3", "us": "4"}, "8", "16"),
        "max_agg": ({"eu": "2", "us": "4"}, "8", "16"),
        "latest_agg": ({"eu": "2", "us": "4"}, "8", "16"),
        "unique_count_agg": ({"eu": "2", "us": "1"}, "1", "1"),
    }
    aws, gcp, default = by_kind[kind]
    assert {e.group["region"]: e.units for e in result.bucket("aws")} == {k: d(v) for k, v in aws.items()}
    assert [(dict(e.group), e.units) for e in result.bucket("gcp")] == [({"user": "a"}, d(gcp))]
    assert [(dict(e.group), e.units) for e in result.bucket(None)] == [
        ({"user": "b", "region": "eu"}, d(default))
    ]


def test_filter_values_that_look_like_json_scalars(api, runtime, org):
    declared = [{"key": "size", "values": ["5", "true", "1.5", "big"]}]
    metric(api, "m", "count_agg", filters=declared)
    ev = Events(api, "m")
    ev.post(
        [
            ev.make(at(2), size=5),
            ev.make(at(2), size="5"),
            ev.make(at(2), size=True),
            ev.make(at(2), size="true"),
            ev.make(at(2), size=1.5),
            ev.make(at(2), size="big"),
            ev.make(at(2), size=6),
        ]
    )
    filters = [
        FilterSpec("five", {"size": ["5"]}),
        FilterSpec("true", {"size": ["true"]}),
        FilterSpec("decimal", {"size": ["1.5"]}),
        FilterSpec("big", {"size": ["big"]}),
    ]
    result = aggregate(runtime, org, "m", filters=filters)
    assert [(e.filter_id, e.units) for e in result.entries] == [
        ("five", d("2")),
        ("true", d("2")),
        ("decimal", d("1")),
        ("big", d("1")),
        (None, d("1")),
    ]


def test_more_buckets_than_a_bitmask_holds(api, runtime, org):
    values = [f"v{i}" for i in range(64)]
    metric(api, "m", "sum_agg", filters=[{"key": "a", "values": values}, {"key": "b", "values": ["x"]}])
    ev = Events(api, "m")
    ev.post([ev.make(at(2), a="v5", b="x", v="1"), ev.make(at(3), a="v63", v="2"), ev.make(at(4), v="4")])
    filters = [FilterSpec(f"a{i}", {"a": [v]}) for i, v in enumerate(values)] + [
        FilterSpec("b", {"b": ["x"]})
    ]
    result = aggregate(runtime, org, "m", filters=filters)
    units = {e.filter_id: e.units for e in result.entries}
    assert len(units) == 66
    assert (units["a5"], units["a63"], units["b"], units[None]) == (d("1"), d("2"), d("1"), d("4"))
    assert sum(units.values()) == d("8")  # the first event counts in two buckets


def _unique_by_bucket(result):
    out: dict = {}
    for e in result.entries:
        out.setdefault(e.filter_id, []).append((tuple(e.group.items()), e.units, e.events_count))
    return {k: sorted(v, key=str) for k, v in out.items()}


@pytest.mark.parametrize("remove", [None, "later", "tie"])
def test_unique_count_buckets_grouped_by_different_keys(api, runtime, org, remove):
    """Buckets that group by different keys (one scan: on SQLite while no event removes, the
    per-key-list queries otherwise; on PostgreSQL unless an add and a remove tie): a bucket's
    counts never split on a key it does not group by, a value counts once per group, a bucket
    without keys and events still has its entry."""
    from sqlalchemy import event as sa_event

    metric(api, "seats", "unique_count_agg", field_name="user", filters=CLOUD)
    ev = Events(api, "seats")
    rows = [
        ev.make(at(2), cloud="aws", region="eu", user="a"),
        ev.make(at(3), cloud="aws", region="us", user="a"),  # same user, other region: aws counts 1
        ev.make(at(4), cloud="aws", region="eu", user="b"),
        ev.make(at(5), region="eu", user="a"),
        ev.make(at(6), region="us", user="a"),
        ev.make(at(7), region="us", user="c"),
        ev.make(at(8), user="d"),  # default bucket, region missing: the NULL group
    ]
    if remove:  # a tie (same timestamp as the add) goes to the event created last: the remove
        rows.append(ev.make(at(7 if remove == "tie" else 9), region="us", user="c", operation_type="remove"))
    ev.post(rows)
    filters = [
        FilterSpec("aws", {"cloud": ["aws"]}),  # no group keys
        FilterSpec("gcp", {"cloud": ["gcp"]}),  # no keys, no events
        FilterSpec("azure", {"cloud": ["azure"]}, ["user"]),  # keys, no events
    ]
    statements: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        if "FROM events" in statement:
            statements.append(statement)

    sa_event.listen(runtime.db.engine, "before_cursor_execute", count)
    try:
        result = aggregate(runtime, org, "seats", filters=filters, group_keys=["region"])
    finally:
        sa_event.remove(runtime.db.engine, "before_cursor_execute", count)
    n = 1 if remove else 2  # events_count of a unique count: the unique values
    us = ((("region", "us"),), d(n), n)
    assert _unique_by_bucket(result) == {
        "aws": [((), d("2"), 2)],
        "gcp": [((), d("0"), 0)],
        "azure": [((("user", None),), d("0"), 0)],
        None: sorted([((("region", None),), d("1"), 1), ((("region", "eu"),), d("1"), 1), us], key=str),
    }
    if runtime.db.is_postgres:
        # one scan (latest add and remove per value, masked groups); a tie: then per key list
        # the add/remove computation, and the exact order for the list that has the tie
        assert len(statements) == (5 if remove == "tie" else 1)
    else:
        # one scan; with a remove: the union try, then per key list ((), (user,), (region,)) the
        # fast try, and the add/remove computation of the bucket that has the remove (+ the
        # exact order when it ties with the add)
        assert len(statements) == {None: 1, "later": 5, "tie": 6}[remove]
