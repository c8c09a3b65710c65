"""The period aggregation: one conditional-aggregation query per group-key set.

``SELECT g0…gn, <per bucket: AGG(x) FILTER (WHERE in bucket)> FROM rows GROUP BY g0…gn``: every
bucket of the charge in one scan of the subscription's events (additive aggregates group by the
union of the buckets' keys; unique counts try one scan too, :func:`unique_union_statement`, else
run one query per distinct key list). The latest value and the unique count need a little more
(see :func:`latest_statement` and :func:`unique_statement`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, not_, or_, select
from sqlalchemy.sql import FromClause

from billow.core.money import ZERO
from billow.metering.aggregation.buckets import Bucket
from billow.metering.aggregation.types import GroupKey
from billow.metering.store.aggregate_exprs import EVENTS, Expr
from billow.metering.store.aggregate_numbers import Numbers, to_decimal
from billow.metering.store.aggregate_rows import (
    Scope,
    Window,
    exploded,
    group_key_columns,
    in_bucket,
    rows,
    where,
)

PartialKey = tuple[int, GroupKey]


@dataclass(slots=True)
class Partial:
    """Raw aggregates of one bucket (position) and group, before the finishing arithmetic.
    ``rows``: events seen (the bucket/group exists); ``count``: events_count material."""

    count: int = 0
    rows: int = 0
    value: Decimal | None = None
    carried: Decimal = ZERO
    day_weighted: Decimal = ZERO
    weighted: Decimal = ZERO
    variation: Decimal = ZERO
    initial: Decimal = ZERO
    precise: Decimal = ZERO
    last_ts: Any = None
    latest: Decimal | None = None
    unique: int = 0
    ambiguous: int = 0

    def merge(self, other: Partial, kind: str) -> None:
        """Add the aggregates of another row of the same bucket/group (bitmask rows)."""
        self.count += other.count
        self.rows += other.rows
        if other.value is not None:
            if self.value is None:
                self.value = other.value
            elif kind == "max_agg":
                self.value = max(self.value, other.value)
            else:
                self.value += other.value
        self.carried += other.carried
        self.day_weighted += other.day_weighted
        self.weighted += other.weighted
        self.variation += other.variation
        self.initial += other.initial
        self.precise += other.precise
        if other.last_ts is not None and (self.last_ts is None or other.last_ts > self.last_ts):
            self.last_ts = other.last_ts


Partials = dict[PartialKey, Partial]


def by_bucket(scope: Scope) -> bool:
    """PostgreSQL groups by the bucket column (computed once per row, hash aggregation, parallel
    plans); SQLite aggregates each bucket with a ``FILTER`` over its fenced rows (grouping by one
    more column costs SQLite's sorter more than the filters)."""
    return scope.dialect.is_pg and scope.only_bucket is None and bool(scope.plan.filters)


def _and(cond: Expr | None, extra: Expr) -> Expr:
    return extra if cond is None else and_(cond, extra)


def _count(cond: Expr | None, name: str) -> Expr:
    aggregate = func.count()
    return (aggregate.filter(cond) if cond is not None else aggregate).label(name)


def group_of(row: Any, keys: Sequence[str], json_text: bool = False) -> GroupKey:
    if json_text:
        return tuple((key, decode_group(row[f"g{i}"])) for i, key in enumerate(keys))
    return tuple((key, row[f"g{i}"]) for i, key in enumerate(keys))


def decode_group(raw: str | None) -> str | None:
    """The text form of a property from its JSON text (SQLite ``->``): strings unquoted,
    numbers and booleans as written, ``null`` and ``""`` → ``None``."""
    if raw is None or raw == "null":
        return None
    if raw.startswith('"'):
        text = json.loads(raw)
        return text if isinstance(text, str) and text else None
    return raw


def json_groups(scope: Scope) -> bool:
    """SQLite groups additive aggregates by the JSON text of the keys (one lookup per key)."""
    return not scope.dialect.is_pg


def main_window(scope: Scope) -> tuple[Window, bool]:
    """The window of the period aggregation and whether it reaches into history (then the rows
    carry ``pre`` = before the period): recurring sum/unique_count drop the lower bound; a
    recurring weighted sum whose initial level comes from the events reads them up to F − 1 s."""
    req = scope.request
    kind = scope.aggregation_type
    if req.metric.recurring and kind in ("sum_agg", "unique_count_agg"):
        return Window(history=True), kind == "sum_agg"
    weighted = req.options.weighted
    if (
        kind == "weighted_sum_agg"
        and req.metric.recurring
        and weighted is not None
        and weighted.initial_levels is None
        and weighted.initial_from_events
    ):
        return Window(history=True, gap=True), True
    return Window(), False


def _columns(scope: Scope, numbers: Numbers, history: bool) -> list[Expr]:
    d = scope.dialect
    kind = scope.aggregation_type
    req = scope.request
    cols: list[Expr] = []
    if kind in ("sum_agg", "max_agg", "weighted_sum_agg"):
        # latest_agg reads its value in latest_statement
        weighted = kind == "weighted_sum_agg" or (kind == "sum_agg" and req.options.proration is not None)
        cols.extend(numbers.value_columns(weighted=weighted))
    if kind in ("latest_agg", "unique_count_agg"):
        cols.append(d.timestamp().label("ts"))
    if kind == "unique_count_agg":
        cols.extend([d.unique_value().label("u"), d.operation_is_add().label("a")])
    if history:
        cols.append((d.timestamp() < scope.bind("ps")).label("pre"))
    if kind == "sum_agg" and req.options.precise_total_amount:
        cols.append(EVENTS.c.precise_total_amount_cents.label("p"))
    if kind == "sum_agg" and req.options.proration is not None:
        cols.append((scope.bind("end_day1") - d.local_day_number(scope.params, "lds")).label("d"))
    if kind == "weighted_sum_agg":
        # the scan reads rows before F only when it reaches into history (main_window)
        cols.append(d.micros_until(scope.params, clamp=history).label("w"))
    return cols


def _measures(
    scope: Scope, numbers: Numbers, r: FromClause, bucket: Bucket | None, history: bool
) -> list[Expr]:
    """The aggregates of one bucket (``FILTER``), or of every row (``bucket`` None: by bucket)."""
    kind = scope.aggregation_type
    req = scope.request
    p = bucket.position if bucket is not None else 0
    cond = in_bucket(scope, r, bucket) if bucket is not None else None
    if kind == "count_agg":
        return [_count(cond, f"cnt_{p}")]
    if kind == "max_agg":
        return [_count(cond, f"cnt_{p}"), *numbers.max(r, cond, f"val_{p}")]
    if kind == "latest_agg":
        ts = func.max(r.c.ts)
        return [_count(cond, f"cnt_{p}"), (ts.filter(cond) if cond is not None else ts).label(f"mts_{p}")]
    if kind == "sum_agg":
        out = [_count(cond, f"cnt_{p}"), *numbers.sum(r, cond, f"val_{p}")]
        if req.options.precise_total_amount:
            out.append(numbers.sum_column(r.c.p, cond, f"pre_{p}"))
        if req.options.proration is not None:
            out.extend(numbers.sum(r, _and(cond, r.c.pre), f"car_{p}"))
            out.extend(numbers.weighted(r, r.c.d, _and(cond, not_(r.c.pre)), f"dw_{p}"))
        return out
    if kind == "weighted_sum_agg":
        current = _and(cond, not_(r.c.pre)) if history else cond
        out = [
            _count(current, f"cnt_{p}"),
            *numbers.weighted(r, r.c.w, cond, f"ws_{p}"),
            *numbers.sum(r, current, f"var_{p}"),
        ]
        if history:
            out.append(_count(cond, f"rows_{p}"))
            out.extend(numbers.sum(r, _and(cond, r.c.pre), f"ini_{p}"))
        return out
    raise ValueError(kind)


def period_statement(
    scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket], numbers: Numbers
) -> Select[Any]:
    """Conditional aggregation of ``buckets`` (sharing the group ``keys``); not unique_count."""
    window, history = main_window(scope)
    r = rows(scope, window, keys, _columns(scope, numbers, history), json_groups=json_groups(scope))
    gcols = group_key_columns(r, keys)
    if scope.siblings:
        gcols = [r.c.bsub, *gcols]
    if by_bucket(scope):
        measures = _measures(scope, numbers, r, None, history)
        return select(r.c.b, *gcols, *measures).group_by(r.c.b, *gcols)
    measures = [m for bucket in buckets for m in _measures(scope, numbers, r, bucket, history)]
    stmt = select(*gcols, *measures).select_from(r)
    return stmt.group_by(*gcols) if gcols else stmt


def read_period(
    scope: Scope, result: Any, keys: Sequence[str], buckets: Sequence[Bucket], numbers: Numbers
) -> Partials:
    """Partials from the rows of :func:`period_statement`."""
    partials: Partials = {}
    grouped = by_bucket(scope)
    kind = scope.aggregation_type
    for row in result:
        group = group_of(row, keys, json_groups(scope))
        found: list[tuple[int, Partial]]
        if grouped:
            part = _read_part(scope, numbers, row, 0)
            found = [(bucket.position, replace(part)) for bucket in _buckets_of_row(scope, row, buckets)]
        else:
            found = [(b.position, _read_part(scope, numbers, row, b.position)) for b in buckets]
        for position, part in found:
            if not part.rows and keys:
                continue
            current = partials.get((position, group))
            if current is None:
                partials[(position, group)] = part
            else:  # another SQL group with the same text form, or another bitmask
                current.merge(part, kind)
    return partials


def _buckets_of_row(scope: Scope, row: Any, buckets: Sequence[Bucket]) -> list[Bucket]:
    return [bucket for bucket in buckets if _row_in_bucket(scope, row, bucket.position)]


def _read_part(scope: Scope, numbers: Numbers, row: Any, p: int) -> Partial:
    _, history = main_window(scope)
    kind = scope.aggregation_type
    options = scope.request.options
    part = Partial(count=int(row[f"cnt_{p}"] or 0))
    part.rows = int(row[f"rows_{p}"] or 0) if history and kind == "weighted_sum_agg" else part.count
    if kind == "max_agg":
        part.value = numbers.read_max(row, f"val_{p}")
    elif kind == "latest_agg":
        part.last_ts = row[f"mts_{p}"]
    elif kind == "sum_agg":
        part.value = numbers.read_sum(row, f"val_{p}")
        if options.precise_total_amount:
            part.precise = to_decimal(row[f"pre_{p}"]) or ZERO
        if options.proration is not None:
            part.carried = numbers.read_sum(row, f"car_{p}") or ZERO
            part.day_weighted = numbers.read_weighted(row, f"dw_{p}")
    elif kind == "weighted_sum_agg":
        part.weighted = numbers.read_weighted(row, f"ws_{p}")
        part.variation = numbers.read_sum(row, f"var_{p}") or ZERO
        if history:
            part.initial = numbers.read_sum(row, f"ini_{p}") or ZERO
    return part


# -- latest ------------------------------------------------------------------------------------


def latest_statement(scope: Scope, keys: Sequence[str], numbers: Numbers) -> Select[Any]:
    """The events at the latest timestamps found by :func:`period_statement` (parameter
    ``stamps``, expanding): normally one per bucket/group. The stamps lie in the window, so the
    time bounds are left out: with them SQLite scans the window's index range instead of looking
    the stamps up (measured: the latest value took 2× the bare query over 1M events)."""
    window = replace(main_window(scope)[0], bounded=False)
    cols: list[Expr] = [
        scope.dialect.timestamp().label("ts"),
        EVENTS.c.created_at.label("ca"),
        EVENTS.c.id.label("eid"),
        *numbers.value_columns(),
    ]
    at_stamps = scope.dialect.timestamp().in_(bindparam("stamps", expanding=True))
    return select(rows(scope, window, keys, cols, also=[at_stamps], json_groups=json_groups(scope)))


def project(group: GroupKey, bucket: Bucket) -> GroupKey:
    """A group of the union of the buckets' keys, seen with one bucket's own keys."""
    values = dict(group)
    return tuple((key, values.get(key)) for key in bucket.group_keys)


def project_partials(scope: Scope, partials: Partials, buckets: Sequence[Bucket]) -> Partials:
    """Merge the partials of union-key groups into each bucket's own groups."""
    by_position = {b.position: b for b in buckets}
    out: Partials = {}
    for (position, group), part in partials.items():
        key = (position, project(group, by_position[position]))
        current = out.get(key)
        if current is None:
            out[key] = replace(part)
        else:
            current.merge(part, scope.aggregation_type)
    return out


def read_latest(
    scope: Scope, result: Any, keys: Sequence[str], partials: Partials, buckets: Sequence[Bucket]
) -> None:
    """Keep, per bucket/group, the value of the last ingested event at its latest timestamp."""
    best: dict[PartialKey, tuple[Any, Any]] = {}
    value_column = "v" if scope.dialect.is_pg else "n"
    for row in result:
        group = group_of(row, keys, json_groups(scope))
        for bucket in _buckets_of_row(scope, row, buckets):
            key = (bucket.position, project(group, bucket))
            part = partials.get(key)
            if part is None or part.last_ts != row["ts"]:
                continue
            rank = (row["ca"], row["eid"])
            if key not in best or rank > best[key]:
                best[key] = rank
                part.latest = to_decimal(row[value_column])


def _row_in_bucket(scope: Scope, row: Any, position: int) -> bool:
    if scope.only_bucket is not None or "b" not in row:
        return True
    if scope.plan.exclusive:
        return bool(row["b"] == position)
    index = [b.position for b in scope.buckets].index(position)
    return bool(int(row["b"]) & (1 << index))


# -- unique count ------------------------------------------------------------------------------


def unique_fast_statement(scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket]) -> Select[Any]:
    """SQLite first try: ``COUNT(DISTINCT value)`` (+ one for a missing value) per bucket/group and
    the number of removes. Without removes that is the unique count, in one pass that SQLite runs
    with a small index of distinct values instead of sorting the events (its GROUP BY sorts)."""
    window, _ = main_window(scope)
    if not keys and (scope.only_bucket is not None or not scope.plan.filters):
        return _unique_fast_flat(scope, window, buckets)
    r = rows(scope, window, keys, _columns(scope, Numbers(scope.dialect), False))
    gcols = group_key_columns(r, keys)
    cols: list[Expr] = []
    for bucket in buckets:
        p = bucket.position
        cond = in_bucket(scope, r, bucket)
        distinct = func.count(r.c.u.distinct())
        missing = func.max(case((r.c.u.is_(None), 1), else_=0))
        cols.append((distinct.filter(cond) if cond is not None else distinct).label(f"dn_{p}"))
        cols.append((missing.filter(cond) if cond is not None else missing).label(f"nn_{p}"))
        cols.append(_count(_and(cond, not_(r.c.a)), f"rm_{p}"))
        cols.append(_count(cond, f"seen_{p}"))
    stmt = select(*gcols, *cols).select_from(r)
    return stmt.group_by(*gcols) if gcols else stmt


def _unique_fast_flat(scope: Scope, window: Window, buckets: Sequence[Bucket]) -> Select[Any]:
    """:func:`unique_fast_statement` of an ungrouped scope without bucket conditions, straight
    over the events (no fenced subquery: the value is a column read for rows whose
    ``value_text`` holds it, so reading it twice costs less than a fence, 1.2× the bare
    ``COUNT(DISTINCT)`` instead of 1.4×); ``nn`` counts the missing values."""
    d = scope.dialect
    u = d.unique_value()
    cols: list[Expr] = []
    for bucket in buckets:
        p = bucket.position
        cols.append(func.count(u.distinct()).label(f"dn_{p}"))
        cols.append((func.count() - func.count(u)).label(f"nn_{p}"))
        cols.append(func.count().filter(not_(d.operation_is_add())).label(f"rm_{p}"))
        cols.append(func.count().label(f"seen_{p}"))
    return select(*cols).where(*where(scope, window))


def read_unique_fast(result: Any, keys: Sequence[str], buckets: Sequence[Bucket]) -> Partials | None:
    """The unique counts, or ``None`` when a remove needs the full computation."""
    partials: Partials = {}
    for row in result:
        group = group_of(row, keys)
        for bucket in buckets:
            p = bucket.position
            if int(row[f"rm_{p}"] or 0):
                return None
            seen = int(row[f"seen_{p}"] or 0)
            if seen or not keys:
                # missing values (``nn``: a flag or a count) are one value
                unique = int(row[f"dn_{p}"] or 0) + min(int(row[f"nn_{p}"] or 0), 1)
                partials[(p, group)] = Partial(count=unique, rows=seen, unique=unique)
    return partials


def masked_group_columns(r: FromClause, keys: Sequence[str], buckets: Sequence[Bucket]) -> list[Expr]:
    """Group columns over the union of the buckets' key lists: ``gi`` is the value of
    ``keys[i]`` only for events of a bucket that groups by it (NULL for the others), so grouping
    by every key never splits a bucket that does not group by it."""
    out: list[Expr] = []
    for i, key in enumerate(keys):
        positions = [b.position for b in buckets if key in b.group_keys]
        out.append(case((r.c.b.in_(positions), r.c[f"g{i}"])).label(f"g{i}"))
    return out


def unique_union_statement(scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket]) -> Select[Any]:
    """SQLite, exclusive plans whose buckets group by different key lists: the first try of
    :func:`unique_fast_statement` for all of them in ONE scan, grouped by
    :func:`masked_group_columns`; ``FILTER (b = p)`` keeps the buckets apart where their rows
    share a group row."""
    window, _ = main_window(scope)
    r = rows(scope, window, keys, _columns(scope, Numbers(scope.dialect), False))
    gcols = masked_group_columns(r, keys, buckets)
    cols: list[Expr] = []
    for bucket in buckets:
        p = bucket.position
        cond = r.c.b == p
        cols.append(func.count(r.c.u.distinct()).filter(cond).label(f"dn_{p}"))
        cols.append(func.max(case((r.c.u.is_(None), 1), else_=0)).filter(cond).label(f"nn_{p}"))
        cols.append(_count(and_(cond, not_(r.c.a)), f"rm_{p}"))
        cols.append(_count(cond, f"seen_{p}"))
    return select(*gcols, *cols).select_from(r).group_by(*gcols)


def read_unique_union(result: Any, keys: Sequence[str], buckets: Sequence[Bucket]) -> Partials | None:
    """The unique counts of :func:`unique_union_statement` per bucket and ITS group keys, or
    ``None`` when a remove needs the full computation."""
    partials: Partials = {}
    index = {key: i for i, key in enumerate(keys)}
    for row in result:
        for bucket in buckets:
            p = bucket.position
            if int(row[f"rm_{p}"] or 0):
                return None
            seen = int(row[f"seen_{p}"] or 0)
            if seen:
                group = tuple((key, row[f"g{index[key]}"]) for key in bucket.group_keys)
                unique = int(row[f"dn_{p}"] or 0) + int(row[f"nn_{p}"] or 0)
                partials[(p, group)] = Partial(count=unique, rows=seen, unique=unique)
    _keyless_entries(partials, buckets)
    return partials


def _keyless_entries(partials: Partials, buckets: Sequence[Bucket]) -> None:
    """A bucket without group keys always has its (empty) entry."""
    for bucket in buckets:
        if not bucket.group_keys:
            partials.setdefault((bucket.position, ()), Partial(count=0, rows=0, unique=0))


def unique_statement(
    scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket], *, masked: bool = False
) -> Select[Any]:
    """Values whose last operation (``timestamp, created_at, id``) is an add, per bucket/group.

    Per value: the latest add and the latest remove timestamps (one grouped pass, no sort of the
    events by time); a value is active when it has an add later than any remove. A tie at the
    same timestamp (``amb``) is resolved by :func:`unique_exact_statement`.

    ``masked`` (PostgreSQL, exclusive plan, grouped by bucket): ``keys`` is the union of the
    buckets' key lists and the groups are :func:`masked_group_columns` — buckets that group by
    different keys in one scan (:func:`read_unique` projects each row on its bucket's keys).
    """
    window, _ = main_window(scope)
    r = rows(scope, window, keys, _columns(scope, Numbers(scope.dialect), False))
    gcols = masked_group_columns(r, keys, buckets) if masked else group_key_columns(r, keys)
    grouped = by_bucket(scope) and scope.plan.exclusive
    lead = [r.c.b] if grouped else []
    targets: list[Bucket | None] = [None] if grouped else list(buckets)
    inner_cols: list[Expr] = []
    for bucket in targets:
        p = bucket.position if bucket is not None else 0
        cond = in_bucket(scope, r, bucket) if bucket is not None else None
        inner_cols.append(func.max(r.c.ts).filter(_and(cond, r.c.a)).label(f"la_{p}"))
        inner_cols.append(func.max(r.c.ts).filter(_and(cond, not_(r.c.a))).label(f"lr_{p}"))
    inner_stmt = select(*lead, *gcols, r.c.u, *inner_cols).group_by(*lead, *gcols, r.c.u)
    if grouped and len(buckets) < len(scope.plan.buckets):
        inner_stmt = inner_stmt.where(r.c.b.in_([b.position for b in buckets]))
    inner = inner_stmt.subquery("v")
    outer_lead = [inner.c.b] if grouped else []
    outer_g = [*outer_lead, *group_key_columns(inner, keys)]
    outer_cols: list[Expr] = []
    for bucket in targets:
        p = bucket.position if bucket is not None else 0
        la, lr = inner.c[f"la_{p}"], inner.c[f"lr_{p}"]
        active = and_(la.is_not(None), or_(lr.is_(None), la > lr))
        outer_cols.append(func.count().filter(active).label(f"u_{p}"))
        outer_cols.append(func.count().filter(la == lr).label(f"amb_{p}"))
        outer_cols.append(func.count().filter(or_(la.is_not(None), lr.is_not(None))).label(f"seen_{p}"))
    stmt = select(*outer_g, *outer_cols).select_from(inner)
    return stmt.group_by(*outer_g) if outer_g else stmt


def read_unique(
    scope: Scope, result: Any, keys: Sequence[str], buckets: Sequence[Bucket], *, masked: bool = False
) -> tuple[Partials, bool]:
    partials: Partials = {}
    ambiguous = False
    grouped = by_bucket(scope) and scope.plan.exclusive
    by_position = {b.position: b for b in buckets}
    for row in result:
        group = group_of(row, keys)
        targets = [(int(row["b"]), 0)] if grouped else [(b.position, b.position) for b in buckets]
        for position, p in targets:
            unique, amb, seen = int(row[f"u_{p}"] or 0), int(row[f"amb_{p}"] or 0), int(row[f"seen_{p}"] or 0)
            ambiguous = ambiguous or amb > 0
            if seen or not keys:
                own = project(group, by_position[position]) if masked else group
                partials[(position, own)] = Partial(count=unique, rows=seen, unique=unique, ambiguous=amb)
    if masked:
        _keyless_entries(partials, buckets)
    return partials, ambiguous


def unique_exact_statement(scope: Scope, keys: Sequence[str], buckets: Sequence[Bucket]) -> Select[Any]:
    """Unique count with ``ROW_NUMBER()`` over (bucket, group, value) by the full event order."""
    d = scope.dialect
    window, _ = main_window(scope)
    extra: list[Expr] = [
        d.timestamp().label("ts"),
        EVENTS.c.created_at.label("ca"),
        EVENTS.c.id.label("eid"),
        d.unique_value().label("u"),
        d.operation_is_add().label("a"),
    ]
    r = rows(scope, window, keys, extra)
    x, _ = exploded(scope, r, buckets)
    xs = x.subquery("x")
    gcols = group_key_columns(xs, keys)
    rn = (
        func.row_number()
        .over(
            partition_by=[xs.c.k, *gcols, xs.c.u], order_by=[xs.c.ts.desc(), xs.c.ca.desc(), xs.c.eid.desc()]
        )
        .label("rn")
    )
    last = select(xs.c.k, *gcols, xs.c.a, rn).subquery("l")
    lg = group_key_columns(last, keys)
    is_add = last.c.a.is_(True) if d.is_pg else last.c.a == 1
    active = func.count().filter(and_(last.c.rn == 1, is_add))
    seen = func.count().filter(last.c.rn == 1)
    return select(last.c.k, *lg, active.label("u"), seen.label("seen")).group_by(last.c.k, *lg)


def read_unique_exact(result: Any, keys: Sequence[str]) -> Partials:
    partials: Partials = {}
    for row in result:
        unique = int(row["u"] or 0)
        partials[(int(row["k"]), group_of(row, keys))] = Partial(
            count=unique, rows=int(row["seen"]), unique=unique
        )
    return partials
