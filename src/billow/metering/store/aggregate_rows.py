"""The event rows of one aggregation: window, scope, bucket column, group columns (one subquery).

Every query of the engine starts from :func:`rows`: the metric's events of the subscription in
the window (one range scan of ``(organization_id, external_subscription_id, code, timestamp)``),
with the columns the aggregation needs, computed once per event (on SQLite the subquery is
fenced with ``LIMIT -1`` so that SQLite does not inline it and evaluate every JSON lookup once
per use).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    Subquery,
    Text,
    and_,
    column,
    literal,
    not_,
    or_,
    select,
    values,
)
from sqlalchemy.sql import FromClause

from billow.db.one_of import one_of
from billow.metering.aggregation.buckets import Bucket, BucketPlan
from billow.metering.aggregation.types import VALUE_TYPES, AggregationRequest
from billow.metering.aggregation.units import ceil_to_second, floor_to_millisecond
from billow.metering.store.aggregate_exprs import EVENTS, Dialect, Expr, Params, day_number, epoch_micros
from billow.subscriptions.periods import local_date

_ONE_SECOND = timedelta(seconds=1)
_ONE_DAY = timedelta(days=1)
_NO_SHIFT = timedelta(0)


# Aggregations whose row columns the outer query reads more than once (SQLite fences them).
REUSED_COLUMNS = frozenset({"weighted_sum_agg", "unique_count_agg"})


@dataclass(frozen=True, slots=True)
class Window:
    """Which events: ``F ≤ timestamp ≤ T``; ``history`` drops the lower bound; ``gap`` (the
    weighted-sum fallback) leaves out ``(F − 1 s, F)``. A pay-in-advance cursor always applies."""

    history: bool = False
    gap: bool = False
    bounded: bool = True  # False: no time bounds (the caller restricts to timestamps in the window)


@dataclass(frozen=True, slots=True)
class Scope:
    """A request made ready for SQL: dialect, buckets, parameter values, optional restriction to
    one bucket and group (pay-in-advance). ``buckets``: the buckets of the current query."""

    request: AggregationRequest
    dialect: Dialect
    plan: BucketPlan
    params: Params
    period_start: datetime
    period_end: datetime
    only_bucket: Bucket | None = None
    only_group: Mapping[str, str | None] | None = None
    buckets: tuple[Bucket, ...] = field(default=())
    siblings: bool = False
    """The same aggregation for several subscriptions at once (``aggregate_siblings``): the
    subscription is the expanding parameter ``subs`` and the first group column, ``bsub``."""

    @property
    def aggregation_type(self) -> str:
        return self.request.metric.aggregation_type

    @property
    def numeric_only(self) -> bool:
        return self.aggregation_type in VALUE_TYPES

    def bind(self, name: str) -> Expr:
        return self.params.bind(name)

    def shape(self) -> tuple[Any, ...]:
        """What, besides the request's shape, changes the SQL of this scope."""
        group = None if self.only_group is None else tuple((k, v is None) for k, v in self.only_group.items())
        only = None if self.only_bucket is None else self.only_bucket.position
        segments = tuple(sorted((k, v) for k, v in self.params.values.items() if k.endswith("_n")))
        return (
            self.dialect.name,
            only,
            group,
            tuple(b.position for b in self.buckets),
            segments,
            self.siblings,
        )


def make_scope(
    request: AggregationRequest,
    dialect_name: str,
    plan: BucketPlan,
    *,
    only_bucket: Bucket | None = None,
    only_group: Mapping[str, str | None] | None = None,
) -> Scope:
    """The scope with every request value as a named parameter."""
    d = Dialect(dialect_name, request.metric.field_name)
    p = Params()
    start = floor_to_millisecond(request.from_datetime)
    end = request.to_datetime
    ts_type = EVENTS.c.timestamp.type
    p.set("org", request.organization_id, EVENTS.c.organization_id.type)
    p.set("sub", request.external_subscription_id, Text())
    p.set("lower", start, ts_type)
    p.set("upper", end, ts_type)
    p.set("gap_start", start - _ONE_SECOND, ts_type)
    p.set("ps", d.time_value(start), d.time_type())
    cursor = request.options.upto
    if cursor is not None:
        p.set("cur_ts", cursor.timestamp, ts_type)
        p.set("cur_ca", cursor.created_at, EVENTS.c.created_at.type)
        p.set("cur_id", cursor.event_id, EVENTS.c.id.type)
    if request.options.weighted is not None:
        t_end = ceil_to_second(end)
        p.set("w_end", t_end if d.is_pg else epoch_micros(t_end), ts_type if d.is_pg else BigInteger())
        p.set("w_floor", d.time_value(start), d.time_type())
        p.set("w_floor_us", epoch_micros(start), BigInteger())
    proration = request.options.proration
    if proration is not None:
        tz = proration.timezone
        p.set("end_day1", day_number(local_date(end, tz)) + 1, Integer())
        p.set("start_day", day_number(local_date(start, tz)), Integer())
        p.set("end_next_day", day_number(local_date(end + _ONE_DAY, tz)), Integer())
        d.set_local_day(p, "lds", tz, (start, end), _NO_SHIFT)
        d.set_local_day(p, "lu0", tz, (start, end + _ONE_DAY), _NO_SHIFT)
        d.set_local_day(p, "lu1", tz, (start, end + _ONE_DAY), _ONE_DAY)
    if only_group is not None:
        for i, value in enumerate(only_group.values()):
            if value is not None:
                p.set(f"grp{i}", value, Text())
    buckets = (only_bucket,) if only_bucket is not None else plan.buckets
    return Scope(
        request=request,
        dialect=d,
        plan=plan,
        params=p,
        period_start=start,
        period_end=end,
        only_bucket=only_bucket,
        only_group=only_group,
        buckets=buckets,
    )


def cursor_condition(scope: Scope) -> Expr:
    """``(timestamp, created_at, id) ≤ cursor``: the event and everything ingested before it."""
    ts, created, ident = EVENTS.c.timestamp, EVENTS.c.created_at, EVENTS.c.id
    cur_ts, cur_ca, cur_id = scope.bind("cur_ts"), scope.bind("cur_ca"), scope.bind("cur_id")
    later_tie = and_(ts == cur_ts, or_(created > cur_ca, and_(created == cur_ca, ident > cur_id)))
    return and_(ts <= cur_ts, not_(later_tie))


def where(scope: Scope, window: Window) -> list[Expr]:
    """The event scope: organization, subscription, code, not deleted, window, restriction."""
    req = scope.request
    conds: list[Expr] = [
        EVENTS.c.organization_id == scope.bind("org"),
        (
            one_of(EVENTS.c.external_subscription_id, key="subs")
            if scope.siblings
            else EVENTS.c.external_subscription_id == scope.bind("sub")
        ),
        EVENTS.c.code == req.metric.code,
        EVENTS.c.deleted_at.is_(None),
    ]
    if window.bounded:
        conds.append(EVENTS.c.timestamp <= scope.bind("upper"))
    if window.bounded and not window.history:
        conds.append(EVENTS.c.timestamp >= scope.bind("lower"))
    if window.gap:
        conds.append(
            or_(EVENTS.c.timestamp <= scope.bind("gap_start"), EVENTS.c.timestamp >= scope.bind("lower"))
        )
    if req.options.upto is not None:
        conds.append(cursor_condition(scope))
    if scope.numeric_only:
        conds.append(scope.dialect.numeric().is_not(None))
    if scope.only_bucket is not None:
        conds.append(scope.dialect.bucket_predicate(scope.only_bucket))
    if scope.only_group is not None:
        for i, (key, value) in enumerate(scope.only_group.items()):
            text = scope.dialect.group_text(key)
            conds.append(text.is_(None) if value is None else text == scope.bind(f"grp{i}"))
    return conds


def group_columns(scope: Scope, keys: Sequence[str], json_groups: bool = False) -> list[Expr]:
    column = scope.dialect.group_json if json_groups else scope.dialect.group_text
    return [column(key).label(f"g{i}") for i, key in enumerate(keys)]


def rows(
    scope: Scope,
    window: Window,
    keys: Sequence[str],
    extra: Sequence[Expr],
    also: Sequence[Expr] = (),
    json_groups: bool = False,
) -> Subquery:
    """``SELECT b, g0…gn, <extra> FROM events WHERE <scope> [AND <also>]`` as a subquery ``r``.

    ``b`` (bucket position, or bitmask of ``scope.buckets``) is absent without filters and when
    the scope is restricted to one bucket."""
    cols: list[Expr] = []
    if scope.siblings:
        cols.append(EVENTS.c.external_subscription_id.label("bsub"))
    if scope.only_bucket is None:
        b = scope.dialect.bucket_column(scope.plan, scope.buckets)
        if b is not None:
            cols.append(b.label("b"))
    cols.extend(group_columns(scope, keys, json_groups))
    cols.extend(extra)
    if not cols:
        cols.append(literal(1, Integer()).label("one"))
    stmt = select(*cols).where(*where(scope, window), *also)
    reused = scope.aggregation_type in REUSED_COLUMNS or scope.request.options.proration is not None
    if not scope.dialect.is_pg and (len(cols) > len(extra) or reused):
        # fence (bucket or group columns; the weights of a weighted sum, each used by four
        # partial products; the unique-count value, used twice): SQLite would otherwise inline
        # their JSON lookups and timestamp arithmetic at every use (measured: a weighted sum over
        # 1M events took 3.7× the bare query unfenced). PostgreSQL stays unfenced (a fence
        # forbids parallel plans).
        stmt = stmt.limit(-1)
    return stmt.subquery("r")


def in_bucket(scope: Scope, r: FromClause, bucket: Bucket) -> Expr | None:
    """Row condition "in this bucket" on the subquery's ``b`` column (None: always)."""
    if scope.only_bucket is not None or "b" not in r.c:
        return None
    return Dialect.in_bucket(scope.plan, r.c.b, bucket, scope.buckets)


def exploded(scope: Scope, r: Subquery, buckets: Sequence[Bucket]) -> tuple[Select[Any], Expr]:
    """One row per (event, bucket it is in): ``SELECT k, r.*`` and the ``k`` column.

    Exclusive plans already have one bucket per event (``k = b``); otherwise the rows join a
    ``VALUES`` list of the buckets on the bitmask (overlapping filters count an event twice).
    """
    if "b" not in r.c:
        position = (
            scope.only_bucket.position if scope.only_bucket is not None else scope.plan.default.position
        )
        k = literal(position, Integer()).label("k")
        return select(k, *r.c), k
    if scope.plan.exclusive:
        k = r.c.b.label("k")
        wanted = [b.position for b in buckets]
        return select(k, *(c for c in r.c if c.name != "b")).where(r.c.b.in_(wanted)), k
    index = {b.position: i for i, b in enumerate(scope.buckets)}
    table = values(column("k", Integer()), column("bit", BigInteger()), name="bk").data(
        [(b.position, 1 << index[b.position]) for b in buckets]
    )
    joined = r.join(table, r.c.b.op("&", return_type=BigInteger())(table.c.bit) != 0)
    k = table.c.k.label("k")
    return select(k, *(c for c in r.c if c.name != "b")).select_from(joined), k


def group_key_columns(r: FromClause, keys: Sequence[str]) -> list[Any]:
    return [r.c[f"g{i}"] for i in range(len(keys))]
