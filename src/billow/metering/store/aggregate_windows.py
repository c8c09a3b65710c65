"""Window-function queries: pay-in-advance units and high-water marks, prorated unique counts,
and the ordered per-event lists (percentage values, prorated pairs).

All of them read :func:`~billow.metering.store.aggregate_rows.rows` exploded to one row per
(event, bucket), partitioned by bucket and group, ordered by ``(timestamp, created_at, id)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, Text, and_, bindparam, case, func, literal, select

from billow.core.money import ZERO, ceil
from billow.metering.aggregation.buckets import Bucket
from billow.metering.aggregation.types import GroupKey, ProratedPair
from billow.metering.aggregation.units import PRORATED_PLACES, high_water_units, prorated_ratio
from billow.metering.store.aggregate_exprs import EVENTS, Expr
from billow.metering.store.aggregate_numbers import to_decimal
from billow.metering.store.aggregate_rows import Scope, Window, exploded, group_key_columns, rows

VALUED = frozenset({"sum_agg", "max_agg", "latest_agg", "weighted_sum_agg"})


def _group(row: Any, keys: Sequence[str]) -> GroupKey:
    return tuple((key, row[f"g{i}"]) for i, key in enumerate(keys))


def _order_columns(scope: Scope) -> list[Expr]:
    return [
        scope.dialect.timestamp().label("ts"),
        EVENTS.c.created_at.label("ca"),
        EVENTS.c.id.label("eid"),
    ]


def _add_int(scope: Scope) -> Expr:
    return case((scope.dialect.operation_is_add(), 1), else_=0).label("a")


def _unique_delta(x: Any, keys_cols: Sequence[Any]) -> Expr:
    """+1 when a value becomes active, −1 when an active value is removed, else 0 (Lago's LAG)."""
    previous = func.coalesce(
        func.lag(x.c.a).over(partition_by=[x.c.k, *keys_cols, x.c.u], order_by=[x.c.ts, x.c.ca, x.c.eid]), 0
    )
    return case((x.c.a == 1, 1 - previous), else_=-previous)


# -- pay-in-advance -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Running:
    """Pay-in-advance state of one bucket/group: Σ contributions and the running maximum."""

    current: Decimal
    maximum: Decimal


def _contributions(scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket]) -> tuple[Any, bool]:
    """The period's events with their contribution ``c`` (count 1, sum the value, unique_count the
    activation delta computed over the whole history of recurring metrics). Returns the subquery
    and whether ``c`` is decimal TEXT (SQLite sums)."""
    kind = scope.aggregation_type
    d = scope.dialect
    window = Window(history=kind == "unique_count_agg" and scope.request.metric.recurring)
    cols = _order_columns(scope)
    text_values = False
    if kind == "sum_agg":
        cols.append(d.numeric().label("c"))
        text_values = not d.is_pg
    elif kind == "unique_count_agg":
        cols.extend([d.unique_value().label("u"), _add_int(scope)])
    else:
        cols.append(literal(1, Integer()).label("c"))
    r = rows(scope, window, keys, cols)
    x, _ = exploded(scope, r, buckets)
    xs = x.subquery("x")
    gcols = group_key_columns(xs, keys)
    if kind != "unique_count_agg":
        period = select(xs.c.k, *gcols, xs.c.ts, xs.c.ca, xs.c.eid, xs.c.c)
        return period.where(xs.c.ts >= scope.bind("ps")).subquery("pc"), text_values
    delta = select(xs.c.k, *gcols, xs.c.ts, xs.c.ca, xs.c.eid, _unique_delta(xs, gcols).label("c")).subquery(
        "ud"
    )
    dg = group_key_columns(delta, keys)
    period = select(delta.c.k, *dg, delta.c.ts, delta.c.ca, delta.c.eid, delta.c.c)
    return period.where(delta.c.ts >= scope.bind("ps")).subquery("pc"), False


def _running(pc: Any, keys: Sequence[str], text_values: bool) -> Any:
    gcols = group_key_columns(pc, keys)
    order = [pc.c.ts, pc.c.ca, pc.c.eid]
    part = [pc.c.k, *gcols]
    total = func.billow_dsum(pc.c.c, type_=Text()) if text_values else func.sum(pc.c.c)
    run = total.over(partition_by=part, order_by=order, rows=(None, 0)).label("run")
    return select(pc.c.k, *gcols, pc.c.ts, pc.c.ca, pc.c.eid, pc.c.c, run).subquery("rc")


def high_water_statement(scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket]) -> Select[Any]:
    """Period high-water state per bucket/group: Σ of the period's contributions and the
    highest running total (metering.md §3.8)."""
    pc, text_values = _contributions(scope, keys, buckets)
    rc = _running(pc, keys, text_values)
    gcols = group_key_columns(rc, keys)
    if text_values:
        current = func.billow_dsum(rc.c.c, type_=Text())
        top = func.billow_dmax(rc.c.run, type_=Text())
    else:
        current, top = func.sum(rc.c.c), func.max(rc.c.run)
    return select(rc.c.k, *gcols, current.label("cur"), top.label("top")).group_by(rc.c.k, *gcols)


def read_high_water(result: Any, keys: Sequence[str]) -> dict[tuple[int, GroupKey], Running]:
    return {
        (int(row["k"]), _group(row, keys)): Running(
            current=to_decimal(row["cur"]) or ZERO, maximum=to_decimal(row["top"]) or ZERO
        )
        for row in result
    }


def event_units_statement(scope: Scope, keys: Sequence[str], bucket: Bucket) -> Select[Any]:
    """The running total through the event (parameter ``event_id``), the mark before it and the
    mark after it. ``scope`` is cut at the event and restricted to its bucket and group."""
    pc, text_values = _contributions(scope, keys, [bucket])
    rc = _running(pc, keys, text_values)
    order = [rc.c.ts, rc.c.ca, rc.c.eid]
    gcols = group_key_columns(rc, keys)
    part = [rc.c.k, *gcols]
    top_fn = func.billow_dmax(rc.c.run, type_=Text()) if text_values else func.max(rc.c.run)
    # the mark before an event is the previous row's running maximum (LAG, not an empty frame)
    top = top_fn.over(partition_by=part, order_by=order, rows=(None, 0)).label("top")
    marks = select(rc.c.k, *gcols, rc.c.ts, rc.c.ca, rc.c.eid, rc.c.run, top).subquery("mk")
    mg = group_key_columns(marks, keys)
    previous = func.lag(marks.c.top).over(
        partition_by=[marks.c.k, *mg], order_by=[marks.c.ts, marks.c.ca, marks.c.eid]
    )
    ranked = select(marks.c.eid, marks.c.run, marks.c.top, previous.label("prev")).subquery("pe")
    return select(ranked).where(ranked.c.eid == bindparam("event_id", type_=EVENTS.c.id.type))


def read_event_units(result: Any) -> tuple[Decimal, Running]:
    """Units the event adds (``max(running − previous mark, 0)``; the first event of the period
    adds ``max(running, 0)``) and the state after it."""
    row = next(iter(result), None)
    if row is None:
        return ZERO, Running(ZERO, ZERO)
    running = to_decimal(row["run"]) or ZERO
    previous = to_decimal(row["prev"])
    return high_water_units(running, previous), Running(
        current=running, maximum=to_decimal(row["top"]) or ZERO
    )


# -- ordered per-event lists ---------------------------------------------------------------------


def event_values_statement(scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket]) -> Select[Any]:
    """The period's numeric event values per bucket/group in event order (count-like metrics:
    the number of the period's events)."""
    d = scope.dialect
    cols = _order_columns(scope)
    valued = scope.aggregation_type in VALUED
    if valued:
        cols.append(d.numeric().label("val"))
    r = rows(scope, Window(), keys, cols)
    x, _ = exploded(scope, r, buckets)
    xs = x.subquery("x")
    gcols = group_key_columns(xs, keys)
    if not valued:
        return select(xs.c.k, *gcols, func.count().label("n")).group_by(xs.c.k, *gcols)
    return select(xs.c.k, *gcols, xs.c.val).order_by(xs.c.k, *gcols, xs.c.ts, xs.c.ca, xs.c.eid)


def read_event_values(
    scope: Scope, result: Any, keys: Sequence[str]
) -> dict[tuple[int, GroupKey], list[Decimal]]:
    out: dict[tuple[int, GroupKey], list[Decimal]] = {}
    if scope.aggregation_type not in VALUED:
        for row in result:
            out[(int(row["k"]), _group(row, keys))] = [Decimal(1)] * int(row["n"])
        return out
    for row in result:
        value = to_decimal(row["val"])
        if value is not None:
            out.setdefault((int(row["k"]), _group(row, keys)), []).append(value)
    if scope.aggregation_type == "max_agg":  # Lago: the first maximum, 0 for the others
        for key, values in out.items():
            first = values.index(max(values))
            out[key] = [v if i == first else Decimal(0) for i, v in enumerate(values)]
    return out


def prorated_pairs_statement(scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket]) -> Select[Any]:
    """The period's events with their value and local days to T (prorated sum), in order."""
    d = scope.dialect
    days = (scope.bind("end_day1") - d.local_day_number(scope.params, "lds")).label("d")
    cols = [*_order_columns(scope), d.numeric().label("val"), days]
    r = rows(scope, Window(), keys, cols)
    x, _ = exploded(scope, r, buckets)
    xs = x.subquery("x")
    gcols = group_key_columns(xs, keys)
    return select(xs.c.k, *gcols, xs.c.val, xs.c.d).order_by(xs.c.k, *gcols, xs.c.ts, xs.c.ca, xs.c.eid)


def read_prorated_pairs(
    scope: Scope, result: Any, keys: Sequence[str]
) -> dict[tuple[int, GroupKey], list[ProratedPair]]:
    """``(value, value × days(t, T) / P)`` per event."""
    proration = scope.request.options.proration
    assert proration is not None
    out: dict[tuple[int, GroupKey], list[ProratedPair]] = {}
    for row in result:
        value = to_decimal(row["val"]) or ZERO
        prorated = value * prorated_ratio(int(row["d"]), proration.period_duration_days)
        out.setdefault((int(row["k"]), _group(row, keys)), []).append(ProratedPair(value, prorated))
    return out


def prorated_unique_statement(scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket]) -> Select[Any]:
    """Prorated unique count (§3.6) as Lago computes it: each value's activation changes
    (repeated operations dropped), a change followed by the opposite one on the same UTC day
    ignored, then repeated operations dropped again; every remaining add counts the local days
    from ``max(add, F)`` to the next change (that day included) or to T, over P."""
    d = scope.dialect
    cols = [*_order_columns(scope), d.unique_value().label("u"), _add_int(scope)]
    r = rows(scope, Window(history=scope.request.metric.recurring), keys, cols)
    x, _ = exploded(scope, r, buckets)
    xs = x.subquery("x")
    g1 = group_key_columns(xs, keys)
    s1 = select(xs.c.k, *g1, xs.c.u, xs.c.a, xs.c.ts, xs.c.ca, _unique_delta(xs, g1).label("adj")).subquery(
        "s1"
    )
    # changes only, one per (value, operation, timestamp)
    g2 = group_key_columns(s1, keys)
    first_ca = func.min(s1.c.ca)
    part2 = [s1.c.k, *g2, s1.c.u]
    order2 = [s1.c.ts, first_ca]
    s2 = (
        select(
            s1.c.k,
            *g2,
            s1.c.u,
            s1.c.a,
            s1.c.ts,
            first_ca.label("ca"),
            func.row_number().over(partition_by=part2, order_by=order2).label("rn"),
            func.lead(s1.c.ts).over(partition_by=part2, order_by=order2).label("nts"),
        )
        .where(s1.c.adj != 0)
        .group_by(s1.c.k, *g2, s1.c.u, s1.c.a, s1.c.ts)
        .subquery("s2")
    )
    g3 = group_key_columns(s2, keys)
    same_day = and_(s2.c.rn != 1, s2.c.nts.is_not(None), d.utc_day(s2.c.nts) == d.utc_day(s2.c.ts))
    s3 = select(s2.c.k, *g3, s2.c.u, s2.c.a, s2.c.ts, s2.c.ca, s2.c.rn).where(~same_day).subquery("s3")
    g4 = group_key_columns(s3, keys)
    part4, order4 = [s3.c.k, *g4, s3.c.u], [s3.c.ts, s3.c.ca]
    previous = func.coalesce(func.lag(s3.c.a).over(partition_by=part4, order_by=order4), 0)
    repeated = and_(s3.c.rn != 1, case((s3.c.a == 1, 1 - previous), else_=-previous) == 0)
    s4 = select(s3.c.k, *g4, s3.c.u, s3.c.a, s3.c.ts, s3.c.ca, repeated.label("rep")).subquery("s4")
    g5 = group_key_columns(s4, keys)
    kept = select(s4.c.k, *g5, s4.c.u, s4.c.a, s4.c.ts, s4.c.ca).where(~s4.c.rep).subquery("s5")
    g6 = group_key_columns(kept, keys)
    nxt = func.lead(kept.c.ts).over(partition_by=[kept.c.k, *g6, kept.c.u], order_by=[kept.c.ts, kept.c.ca])
    final = select(kept.c.k, *g6, kept.c.a, kept.c.ts, kept.c.ca, nxt.label("nts")).subquery("s6")
    g7 = group_key_columns(final, keys)
    begin = case(
        (final.c.ts < scope.bind("ps"), scope.bind("start_day")),
        else_=d.local_day_number(scope.params, "lu0", final.c.ts),
    )
    stop = case(
        (final.c.nts.is_(None), scope.bind("end_next_day")),
        (final.c.nts < scope.bind("ps"), begin),
        else_=d.local_day_number(scope.params, "lu1", final.c.nts),
    )
    days = case((final.c.a == 1, stop - begin), else_=0).label("days")
    return select(final.c.k, *g7, final.c.a, days).order_by(final.c.k, *g7, final.c.ts, final.c.ca)


@dataclass(frozen=True, slots=True)
class ProratedUnique:
    units: Decimal
    pairs: tuple[ProratedPair, ...]


def read_prorated_unique(
    scope: Scope, result: Any, keys: Sequence[str]
) -> dict[tuple[int, GroupKey], ProratedUnique]:
    proration = scope.request.options.proration
    assert proration is not None
    duration = proration.period_duration_days
    totals: dict[tuple[int, GroupKey], int] = {}
    pairs: dict[tuple[int, GroupKey], list[ProratedPair]] = {}
    for row in result:
        key = (int(row["k"]), _group(row, keys))
        days = int(row["days"] or 0)
        totals[key] = totals.get(key, 0) + days
        full = Decimal(1) if int(row["a"]) == 1 else Decimal(-1)
        ratio = ceil(prorated_ratio(days, duration), PRORATED_PLACES) if full > 0 else ZERO
        pairs.setdefault(key, []).append(ProratedPair(full, ratio))
    return {
        key: ProratedUnique(ceil(prorated_ratio(days, duration), PRORATED_PLACES), tuple(pairs[key]))
        for key, days in totals.items()
    }
