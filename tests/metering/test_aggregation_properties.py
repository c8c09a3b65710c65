"""Hypothesis properties of the engine (a fresh organization per example; few examples)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billow.metering.aggregation import FilterSpec, MetricSpec, WeightedSumOptions, plan_buckets
from tests.metering.aggregation_helpers import Events, F, T, aggregate, at, fresh_org, metric

SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
VALUES = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=3)
EVENT = st.tuples(st.integers(0, 29 * 86400 - 1), VALUES, st.sampled_from(["a", "b", "c"]), st.booleans())
TYPES = ["count_agg", "sum_agg", "max_agg", "latest_agg", "unique_count_agg"]


def _events(ev: Events, rows, offset_us: int = 0):
    return [
        ev.make(
            F + timedelta(seconds=second, microseconds=offset_us),
            v=format(value, "f"),
            g=group,
            **({"operation_type": "remove"} if remove else {}),
        )
        for second, value, group, remove in rows
    ]


def _summary(runtime, org, code, **kw):
    result = aggregate(runtime, org, code, **kw)
    return sorted((tuple(sorted(e.group.items())), e.units, e.events_count) for e in result.entries)


@SETTINGS
@given(st.lists(EVENT, min_size=1, max_size=12, unique_by=lambda e: e[0]), st.randoms())
def test_insertion_order_does_not_matter(runtime, app_client, rows, rnd):
    org, api = fresh_org(runtime, app_client)
    for kind in TYPES:
        metric(api, kind, kind, field_name="v")
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    for kind in TYPES:
        ev = Events(api, kind)
        ev.post(_events(ev, sorted(rows)))
        other = Events(api, kind, sub="sub_2")
        other.post(_events(other, shuffled))
        for keys in ((), ("g",)):
            assert _summary(runtime, org, kind, group_keys=keys) == _summary(
                runtime, org, kind, group_keys=keys, sub="sub_2"
            )


@SETTINGS
@given(st.lists(EVENT, min_size=1, max_size=12), st.integers(1, 29 * 86400 - 1))
def test_splitting_the_period_adds_up(runtime, app_client, rows, split):
    org, api = fresh_org(runtime, app_client)
    metric(api, "s", "sum_agg", field_name="v")
    metric(api, "c", "count_agg")
    middle = F + timedelta(seconds=split)
    for code in ("s", "c"):
        ev = Events(api, code)
        ev.post(_events(ev, rows))
        whole = aggregate(runtime, org, code).entry()
        first = aggregate(runtime, org, code, end=middle - timedelta(microseconds=1)).entry()
        second = aggregate(runtime, org, code, start=middle).entry()
        assert first.units + second.units == whole.units
        assert first.events_count + second.events_count == whole.events_count


@SETTINGS
@given(st.lists(EVENT, min_size=1, max_size=15))
def test_unique_count_is_at_most_the_distinct_values(runtime, app_client, rows):
    org, api = fresh_org(runtime, app_client)
    metric(api, "u", "unique_count_agg", field_name="v")
    ev = Events(api, "u")
    ev.post(_events(ev, rows))
    units = aggregate(runtime, org, "u").entry().units
    assert 0 <= units <= len({format(value, "f") for _, value, _, _ in rows})


@SETTINGS
@given(VALUES, st.integers(28, 31))
def test_weighted_sum_of_a_constant_level_is_the_level(runtime, app_client, level, days):
    org, api = fresh_org(runtime, app_client)
    metric(api, "w", "weighted_sum_agg", field_name="v")
    metric(api, "r", "weighted_sum_agg", field_name="v", recurring=True)
    end = F + timedelta(days=days) - timedelta(microseconds=1)
    Events(api, "w").send(F, v=format(level, "f"))
    entry = aggregate(runtime, org, "w", end=end, weighted=WeightedSumOptions(days)).entry()
    assert (entry.units, entry.total_aggregated_units) == (level, level)
    levels = WeightedSumOptions(days, initial_levels={(None, ()): level})
    assert aggregate(runtime, org, "r", end=end, weighted=levels).entry().units == level


KEYS = ["a", "b"]
FILTER_VALUES = ["x", "y", "1", "true", ""]
PROPERTY_VALUES = st.sampled_from(["x", "y", "z", 1, "1", True, "true", "", None])


@st.composite
def filters(draw):
    specs = []
    for i in range(draw(st.integers(1, 4))):
        keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True))
        values = {
            k: draw(st.lists(st.sampled_from(FILTER_VALUES), min_size=1, max_size=3, unique=True))
            for k in keys
        }
        specs.append(FilterSpec(f"f{i}", values))
    return specs


@SETTINGS
@given(
    filters(), st.lists(st.fixed_dictionaries({}, optional={k: PROPERTY_VALUES for k in KEYS}), max_size=12)
)
def test_sql_buckets_match_the_reference_predicates(runtime, app_client, specs, properties):
    """Every bucket's SQL count equals the count of the Python predicate (§3.4 reference)."""
    org, api = fresh_org(runtime, app_client)
    declared = [{"key": k, "values": FILTER_VALUES} for k in KEYS]
    metric(api, "c", "count_agg", filters=declared)
    ev = Events(api, "c")
    ev.post(
        [
            ev.make(at(2, second=i), **{k: v for k, v in p.items() if v is not None})
            for i, p in enumerate(properties)
        ]
    )
    plan = plan_buckets(MetricSpec("c", "count_agg", filters={k: FILTER_VALUES for k in KEYS}), specs, ())
    result = aggregate(runtime, org, "c", filters=specs)
    for bucket in plan.buckets:
        stored = [{k: v for k, v in p.items() if v is not None} for p in properties]
        expected = sum(1 for p in stored if bucket.contains(p))
        assert result.entry(bucket.filter_id).units == expected, (bucket.filter_id, plan.exclusive)


def test_period_bounds_are_exact(api, runtime, org):
    """Deterministic companion of the split property at the exact boundaries."""
    metric(api, "c", "count_agg")
    ev = Events(api, "c")
    ev.post([ev.make(F), ev.make(T), ev.make(F + timedelta(days=3))])
    middle = F + timedelta(days=3)
    first = aggregate(runtime, org, "c", end=middle - timedelta(microseconds=1)).entry().units
    second = aggregate(runtime, org, "c", start=middle).entry().units
    assert (first, second) == (1, 2)
