"""``aggregate`` and ``event_units``: the metering engine on SQLite and PostgreSQL.

Set-based SQL only (SQLAlchemy Core); events never come into Python for an aggregation — only
the ordered per-event values that the percentage and prorated-graduated models need by nature,
from one ordered query. See ``billow/metering/aggregation/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from billow.core.money import ZERO, ceil
from billow.db.context import Ctx
from billow.metering.aggregation.buckets import MAX_BUCKETS_PER_MASK, Bucket, BucketPlan, plan_buckets
from billow.metering.aggregation.types import (
    AggregationEntry,
    AggregationRequest,
    AggregationResult,
    EventCursor,
    EventUnits,
    HighWater,
    ProratedPair,
)
from billow.metering.aggregation.units import PRORATED_PLACES, ceil_to_second, epoch_micros, prorated_ratio
from billow.metering.events.parsing import property_text
from billow.metering.store.aggregate_cache import StatementCache, request_shape
from billow.metering.store.aggregate_entries import finish, groups_of, sum_pairs, unique_prorated
from billow.metering.store.aggregate_main import (
    Partial,
    PartialKey,
    latest_statement,
    period_statement,
    project_partials,
    read_latest,
    read_period,
    read_unique,
    read_unique_exact,
    read_unique_fast,
    read_unique_union,
    unique_exact_statement,
    unique_fast_statement,
    unique_statement,
    unique_union_statement,
)
from billow.metering.store.aggregate_numbers import MAX_WEIGHT_BITS, Numbers
from billow.metering.store.aggregate_rows import Scope, make_scope
from billow.metering.store.aggregate_siblings import taken, with_siblings
from billow.metering.store.aggregate_windows import (
    ProratedUnique,
    Running,
    event_units_statement,
    event_values_statement,
    high_water_statement,
    prorated_pairs_statement,
    prorated_unique_statement,
    read_event_units,
    read_event_values,
    read_high_water,
    read_prorated_pairs,
    read_prorated_unique,
)
from billow.metering.store.base import EventRecord
from billow.subscriptions.periods import day_count

SUPPORTED = frozenset(
    {"count_agg", "sum_agg", "max_agg", "unique_count_agg", "weighted_sum_agg", "latest_agg"}
)
ADVANCE_TYPES = frozenset({"count_agg", "sum_agg", "unique_count_agg"})


class UnsupportedAggregation(ValueError):
    """The request cannot be aggregated (``custom_agg``, or a required option is missing)."""


def _session(ctx_or_session: Ctx | Session) -> Session:
    return ctx_or_session.session if isinstance(ctx_or_session, Ctx) else ctx_or_session


def _check(request: AggregationRequest) -> None:
    kind = request.metric.aggregation_type
    if kind == "custom_agg":
        raise UnsupportedAggregation(
            "custom_agg runs a user script in Lago; Billow refuses such metrics (403 at creation)"
        )
    if kind not in SUPPORTED:
        raise UnsupportedAggregation(f"unknown aggregation type {kind!r}")
    if kind == "weighted_sum_agg" and request.options.weighted is None:
        raise UnsupportedAggregation("weighted_sum_agg needs options.weighted (period_duration_days)")
    if request.options.proration is not None and kind not in ("sum_agg", "unique_count_agg"):
        raise UnsupportedAggregation("proration applies to sum_agg and unique_count_agg only")


class _Runner:
    """Builds (or reuses) and runs the statements of one scope."""

    def __init__(self, session: Session, cache: StatementCache | None) -> None:
        self.session = session
        self.cache = cache

    def run(
        self,
        scope: Scope,
        name: str,
        keys: Sequence[str],
        buckets: Sequence[Bucket],
        build: Callable[[], Any],
        extra: Mapping[str, Any] | None = None,
    ) -> Any:
        if self.cache is not None:
            positions = tuple(b.position for b in buckets)
            key = (name, request_shape(scope.request), scope.shape(), tuple(keys), positions)
            stmt = self.cache.get(key, build)
        else:
            stmt = build()
        params = {**scope.params.values, **extra} if extra else scope.params.values
        return self.session.execute(stmt, params).mappings()

    def unique_union(self, scope: Scope) -> dict[PartialKey, Partial] | None:
        """Unique counts of an exclusive plan whose buckets group by different key lists, in
        one scan: on SQLite :func:`unique_union_statement` (``None`` when a remove needs the
        per-key-list computation), on PostgreSQL :func:`unique_statement` over masked group
        columns (``None`` when an add and a remove of a value tie on their timestamp: the
        per-key-list computation resolves it). ``None`` too when not applicable."""
        buckets = scope.buckets
        if (
            scope.only_bucket is not None
            or not scope.plan.exclusive
            or not scope.plan.filters
            or len({b.group_keys for b in buckets}) < 2
            or len(buckets) > MAX_BUCKETS_PER_MASK
        ):
            return None
        keys = tuple(dict.fromkeys(key for bucket in buckets for key in bucket.group_keys))
        if scope.dialect.is_pg:
            build = partial(unique_statement, scope, keys, buckets, masked=True)
            result = self.run(scope, "unique_masked", keys, buckets, build)
            partials, ambiguous = read_unique(scope, result, keys, buckets, masked=True)
            return None if ambiguous else partials
        result = self.run(
            scope, "unique_union", keys, buckets, partial(unique_union_statement, scope, keys, buckets)
        )
        return read_unique_union(result, keys, buckets)

    def partials(
        self, scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket]
    ) -> dict[PartialKey, Partial]:
        """The period aggregation (+ latest values, + tie resolution of unique counts)."""
        if scope.aggregation_type == "unique_count_agg":
            if not scope.dialect.is_pg:
                fast = self.run(
                    scope, "unique_fast", keys, buckets, partial(unique_fast_statement, scope, keys, buckets)
                )
                found = read_unique_fast(fast, keys, buckets)
                if found is not None:
                    return found
            result = self.run(scope, "unique", keys, buckets, lambda: unique_statement(scope, keys, buckets))
            partials, ambiguous = read_unique(scope, result, keys, buckets)
            if ambiguous:
                exact = self.run(
                    scope, "unique_exact", keys, buckets, lambda: unique_exact_statement(scope, keys, buckets)
                )
                partials = read_unique_exact(exact, keys)
            return partials
        try:
            partials = self._period(scope, keys, buckets, Numbers(scope.dialect, exact=_long_weights(scope)))
        except OperationalError as exc:
            # SQLite: a 64-bit overflow of an integer sum; re-run every value through Decimal
            if scope.dialect.is_pg or "overflow" not in str(exc).lower():
                raise
            partials = self._period(scope, keys, buckets, Numbers(scope.dialect, exact=True))
        partials = project_partials(scope, partials, buckets)
        if scope.aggregation_type == "latest_agg":
            stamps = sorted({p.last_ts for p in partials.values() if p.last_ts is not None})
            if stamps:
                numbers = Numbers(scope.dialect)
                result = self.run(
                    scope,
                    "latest",
                    keys,
                    (),
                    lambda: latest_statement(scope, keys, numbers),
                    {"stamps": stamps},
                )
                read_latest(scope, result, keys, partials, buckets)
        return partials

    def _period(
        self, scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket], numbers: Numbers
    ) -> dict[PartialKey, Partial]:
        name = "period_exact" if numbers.exact else "period"
        result = self.run(scope, name, keys, buckets, lambda: period_statement(scope, keys, buckets, numbers))
        return read_period(scope, result, keys, buckets, numbers)


def aggregate(
    ctx_or_session: Ctx | Session, request: AggregationRequest, *, statements: StatementCache | None = None
) -> AggregationResult:
    """Aggregate one charge of one subscription: every bucket (filters, then default) × group."""
    _check(request)
    runner = _Runner(_session(ctx_or_session), statements)
    plan = plan_buckets(request.metric, request.filters, request.group_keys)
    entries = _entries(runner, request, plan, None, None, rounding=True)
    return AggregationResult(entries=tuple(entries))


def event_units(
    ctx_or_session: Ctx | Session,
    request: AggregationRequest,
    event: EventRecord,
    *,
    statements: StatementCache | None = None,
) -> EventUnits:
    """Pay-in-advance aggregation of a stored event (§3.8): its bucket and group, the bucket/group
    aggregated up to and including it, and the units it adds — by the same queries as
    :func:`aggregate`, cut at the event (``timestamp, created_at, id``)."""
    _check(request)
    runner = _Runner(_session(ctx_or_session), statements)
    plan = plan_buckets(request.metric, request.filters, request.group_keys)
    bucket = plan.bucket_for_event(event.properties)
    group = {key: _group_value(event.properties.get(key)) for key in bucket.group_keys}
    cursor = EventCursor(event.timestamp, event.created_at, event.id)
    cut = replace(request, options=replace(request.options, upto=cursor))
    entry = _entries(runner, cut, plan, bucket, group, rounding=False)[0]
    scope = make_scope(cut, _dialect(runner.session), plan, only_bucket=bucket, only_group=group)
    kind = request.metric.aggregation_type
    units, state = ZERO, Running(ZERO, ZERO)
    if kind in ADVANCE_TYPES and event.timestamp >= scope.period_start:
        keys = bucket.group_keys
        result = runner.run(
            scope,
            "event_units",
            keys,
            [bucket],
            lambda: event_units_statement(scope, keys, bucket),
            {"event_id": event.id},
        )
        units, state = read_event_units(result)
        if kind == "count_agg":
            units = Decimal(1)
    prorated: Decimal | None = None
    proration = request.options.proration
    if proration is not None:
        days = day_count(event.timestamp, request.to_datetime, proration.timezone)
        prorated = ceil(units * prorated_ratio(days, proration.period_duration_days), PRORATED_PLACES)
    return EventUnits(
        filter_id=bucket.filter_id,
        group=group,
        entry=entry,
        units=units,
        prorated_units=prorated,
        high_water=HighWater(state.current, state.maximum),
    )


def _long_weights(scope: Scope) -> bool:
    """A weighted sum over more than ~100 days exceeds the native SQLite weight range."""
    if scope.aggregation_type != "weighted_sum_agg" or scope.dialect.is_pg:
        return False
    span = epoch_micros(ceil_to_second(scope.period_end)) - epoch_micros(scope.period_start)
    return span >= 1 << MAX_WEIGHT_BITS


def _group_value(raw: Any) -> str | None:
    text = property_text(raw)
    return None if text == "" else text


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _key_sets(buckets: Sequence[Bucket], union: bool) -> list[tuple[tuple[str, ...], list[Bucket]]]:
    """The queries of a charge: ``(group keys, buckets)``, in chunks that fit a bitmask.

    ``union``: one query grouped by the union of the buckets' keys (additive aggregates are then
    merged per bucket); else one query per distinct key list (unique counts)."""
    by_keys: dict[tuple[str, ...], list[Bucket]] = {}
    if union:
        keys = tuple(dict.fromkeys(key for bucket in buckets for key in bucket.group_keys))
        by_keys[keys] = list(buckets)
    else:
        for bucket in buckets:
            by_keys.setdefault(bucket.group_keys, []).append(bucket)
    out: list[tuple[tuple[str, ...], list[Bucket]]] = []
    for keys, members in by_keys.items():
        for i in range(0, len(members), MAX_BUCKETS_PER_MASK):
            out.append((keys, members[i : i + MAX_BUCKETS_PER_MASK]))
    return out


def _narrowed(scope: Scope, buckets: Sequence[Bucket]) -> Scope:
    """``scope`` for the query of ``buckets`` (itself when they are all of its buckets)."""
    chunk = tuple(buckets)
    return scope if chunk == scope.buckets else replace(scope, buckets=chunk)


def _entries(
    runner: _Runner,
    request: AggregationRequest,
    plan: BucketPlan,
    only_bucket: Bucket | None,
    only_group: dict[str, str | None] | None,
    *,
    rounding: bool,
    base: Scope | None = None,
) -> list[AggregationEntry]:
    """``base``: the request's scope when the caller has it (a sibling's: its statement was run,
    so only what reads its rows counts, which no subscription changes)."""
    if base is None:
        base = make_scope(
            request, _dialect(runner.session), plan, only_bucket=only_bucket, only_group=only_group
        )
    partials: dict[PartialKey, Partial] = {}
    values: dict[PartialKey, list[Decimal]] = {}
    pairs: dict[PartialKey, list[ProratedPair]] = {}
    marks: dict[PartialKey, Running] = {}
    unique_prorated_by_key: dict[PartialKey, ProratedUnique] = {}
    options = request.options
    kind = request.metric.aggregation_type
    union = runner.unique_union(base) if kind == "unique_count_agg" else None
    if union is not None:
        partials.update(union)
    else:
        for keys, chunk in _key_sets(base.buckets, union=kind != "unique_count_agg"):
            scope = _narrowed(base, chunk) if only_bucket is None else base
            partials.update(runner.partials(scope, keys, chunk))
    for keys, chunk in _key_sets(base.buckets, union=False):
        scope = _narrowed(base, chunk) if only_bucket is None else base
        if options.event_values:
            result = runner.run(
                scope, "values", keys, chunk, partial(event_values_statement, scope, keys, chunk)
            )
            values.update(read_event_values(scope, result, keys))
        if options.proration is not None and kind == "sum_agg":
            result = runner.run(
                scope, "pairs", keys, chunk, partial(prorated_pairs_statement, scope, keys, chunk)
            )
            pairs.update(read_prorated_pairs(scope, result, keys))
        if options.proration is not None and kind == "unique_count_agg":
            result = runner.run(
                scope, "unique_prorated", keys, chunk, partial(prorated_unique_statement, scope, keys, chunk)
            )
            unique_prorated_by_key.update(read_prorated_unique(scope, result, keys))
        if options.high_water and kind in ADVANCE_TYPES:
            result = runner.run(
                scope, "high_water", keys, chunk, partial(high_water_statement, scope, keys, chunk)
            )
            marks.update(read_high_water(result, keys))
    entries: list[AggregationEntry] = []
    for bucket in base.buckets:
        for gk in groups_of(request, bucket, partials):
            key = (bucket.position, gk)
            part = partials.get(key, Partial())
            entry = finish(request, bucket, gk, part, rounding=rounding)
            extra: dict[str, Any] = {}
            if key in values:
                extra["event_values"] = tuple(values[key])
            if kind == "sum_agg" and options.proration is not None:
                extra["prorated_events"] = sum_pairs(request, part, pairs.get(key, []))
            if kind == "unique_count_agg" and options.proration is not None:
                extra.update(
                    unique_prorated(request, entry, unique_prorated_by_key.get(key), rounding=rounding)
                )
            if options.high_water:
                mark = marks.get(key, Running(ZERO, ZERO))
                extra["high_water"] = HighWater(mark.current, mark.maximum)
            entries.append(replace(entry, **extra) if extra else entry)
    return entries


class _FedRunner(_Runner):
    """Answers a request's one period statement from the rows a sibling statement read for it
    (``billow.metering.store.aggregate_siblings``)."""

    def __init__(self, session: Session, cache: StatementCache | None, rows: list[Any]) -> None:
        super().__init__(session, cache)
        self._rows: list[Any] | None = rows

    def run(
        self,
        scope: Scope,
        name: str,
        keys: Sequence[str],
        buckets: Sequence[Bucket],
        build: Callable[[], Any],
        extra: Mapping[str, Any] | None = None,
    ) -> Any:
        if name != "period" or self._rows is None:
            raise RuntimeError(f"a sibling aggregation was asked for a {name!r} statement")
        rows, self._rows = self._rows, None
        return rows


class SqlAggregation:
    """The aggregation half of :class:`~billow.metering.store.SqlEventStore` (with its own
    statement cache). In a group of jobs, qualifying requests are aggregated with their
    siblings' (``billow.metering.store.aggregate_siblings``)."""

    def __init__(self) -> None:
        self.statements = StatementCache()

    def aggregate(self, ctx: Ctx, request: AggregationRequest) -> AggregationResult:
        if ctx.prefetched is not None:
            found = taken(ctx, request)
            if found is None:
                found = with_siblings(ctx, request, self.statements, partial(self._fed, ctx.session))
            if found is not None:
                return found
        return aggregate(ctx, request, statements=self.statements)

    def _fed(
        self, session: Session, rows: Mapping[str, list[Any]], batch: Sequence[AggregationRequest]
    ) -> list[AggregationResult]:
        """Siblings' results from their rows; they differ only by subscription, so they share
        the bucket plan and the scope (built once for the batch)."""
        first = batch[0]
        _check(first)
        plan = plan_buckets(first.metric, first.filters, first.group_keys)
        base = make_scope(first, _dialect(session), plan)
        results = []
        for request in batch:
            runner = _FedRunner(session, self.statements, rows.get(request.external_subscription_id, []))
            entries = _entries(runner, request, plan, None, None, rounding=True, base=base)
            results.append(AggregationResult(entries=tuple(entries)))
        return results

    def event_units(self, ctx: Ctx, request: AggregationRequest, event: EventRecord) -> EventUnits:
        return event_units(ctx, request, event, statements=self.statements)
