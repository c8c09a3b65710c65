"""The metering engine's pure half: request/result types, charge-filter buckets, unit arithmetic.

The SQL half (``billow.metering.store.aggregate_sql``) runs the aggregation; see ``README.md``.
"""

from billow.metering.aggregation.buckets import Bucket, BucketPlan, Condition, plan_buckets
from billow.metering.aggregation.types import (
    ALL_FILTER_VALUES,
    AggregationEntry,
    AggregationOptions,
    AggregationRequest,
    AggregationResult,
    AggregationType,
    BucketKey,
    EventCursor,
    EventUnits,
    FilterSpec,
    GroupKey,
    GroupValues,
    HighWater,
    MetricSpec,
    ProratedPair,
    ProrationOptions,
    WeightedSumOptions,
    group_key,
)

__all__ = [
    "ALL_FILTER_VALUES",
    "AggregationEntry",
    "AggregationOptions",
    "AggregationRequest",
    "AggregationResult",
    "AggregationType",
    "Bucket",
    "BucketKey",
    "BucketPlan",
    "Condition",
    "EventCursor",
    "EventUnits",
    "FilterSpec",
    "GroupKey",
    "GroupValues",
    "HighWater",
    "MetricSpec",
    "ProratedPair",
    "ProrationOptions",
    "WeightedSumOptions",
    "group_key",
    "plan_buckets",
]
