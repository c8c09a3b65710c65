"""SQL expressions of the aggregation engine, per dialect (SQLAlchemy Core, no text SQL).

PostgreSQL: ``properties ->> key`` is the text form of a property and ``value`` is NUMERIC (exact
sums). SQLite: ``->>`` turns JSON numbers into floats and booleans into 0/1, so the exact text
form needs ``json_type``; comparisons with string values avoid it (see :meth:`Dialect.condition`),
and exact arithmetic goes through ``value_scaled`` integers or the ``billow_*`` functions of
:mod:`billow.db.sqlite_functions`.

Everything that changes from one request to the next (organization, subscription, window,
cursor…) is a named bind parameter (:class:`Params`), so a statement is built once per charge
shape and reused (``aggregate_sql`` caches them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Integer,
    Interval,
    Numeric,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    extract,
    false,
    func,
    literal,
    not_,
    or_,
    true,
    type_coerce,
)
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from billow.metering.aggregation.buckets import Bucket, BucketPlan, Condition
from billow.metering.aggregation.timezones import offset_segments
from billow.metering.models import Event

EVENTS: Table = Event.__table__  # type: ignore[assignment]
NUMERIC_PATTERN = r"^-?\d+(\.\d+)?$"
Expr = ColumnElement[Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JSON_SCALAR = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?|true|false")


def sqlite_time(moment: datetime) -> str:
    """A UTC instant in the SQLite storage format of ``UTCDateTime`` (lexically ordered)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def epoch_micros(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def day_number(day: date) -> int:
    return (day - date(1970, 1, 1)).days


class Params:
    """Named request values: ``bind(name)`` in a statement, ``values`` at execution."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.types: dict[str, TypeEngine[Any]] = {}

    def set(self, name: str, value: Any, type_: TypeEngine[Any]) -> None:
        self.values[name] = value
        self.types[name] = type_

    def bind(self, name: str) -> BindParameter[Any]:
        return bindparam(name, self.values[name], type_=self.types[name])


class Dialect:
    """Expression factory for one dialect and one metric ``field_name``."""

    def __init__(self, name: str, field_name: str | None) -> None:
        self.name = name
        self.is_pg = name == "postgresql"
        self.field_name = field_name

    # -- properties -------------------------------------------------------------------------

    def _path(self, key: str) -> Expr:
        if self.is_pg:
            return literal(key, Text())
        return literal('$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"', Text())

    def prop_text(self, key: str) -> Expr:
        """The text form of ``properties[key]`` (Lago's ``properties ->> key``; NULL if missing
        or JSON null)."""
        props = type_coerce(EVENTS.c.properties, Text())
        path = self._path(key)
        if self.is_pg:
            return props.op("->>", return_type=Text())(path)
        return case(  # a simple CASE: json_type evaluated once
            {"text": props.op("->>", return_type=Text())(path), "null": literal(None, Text())},
            value=func.json_type(props, path),
            else_=props.op("->", return_type=Text())(path),
        )

    def group_text(self, key: str) -> Expr:
        """A group value: the text form with ``''`` folded into NULL (Lago reports both as nil)."""
        return func.nullif(self.prop_text(key), "")

    def group_json(self, key: str) -> Expr:
        """A group value for additive aggregates: on SQLite the property's JSON text (one lookup;
        :func:`decode_group` turns it into the text form after aggregation)."""
        if self.is_pg:
            return self.group_text(key)
        props = type_coerce(EVENTS.c.properties, Text())
        return props.op("->", return_type=Text())(self._path(key))

    def condition(self, cond: Condition) -> Expr:
        """``text(properties[key]) IN values`` (``coalesce(text, '')`` when ``missing_as_empty``).

        SQLite: a string property equals a value through ``->>`` (TEXT); a number or boolean
        through its JSON text ``->`` — compared only with the values that look like one — so the
        common case costs one JSON lookup. Never NULL when negated (exclusions)."""
        values = list(cond.values)
        if self.is_pg:
            text = self.prop_text(cond.key)
            return (func.coalesce(text, "") if cond.missing_as_empty else text).in_(values)
        props = type_coerce(EVENTS.c.properties, Text())
        path = self._path(cond.key)
        as_text = props.op("->>", return_type=Text())(path)
        parts: list[Expr] = [as_text.in_(values)]
        scalars = [v for v in values if _JSON_SCALAR.fullmatch(v)]
        if scalars:
            parts.append(props.op("->", return_type=Text())(path).in_(scalars))
        if not cond.missing_as_empty:
            return or_(*parts)
        if "" in values:
            parts.append(as_text.is_(None))
        return func.coalesce(or_(*parts), false())

    def bucket_predicate(self, bucket: Bucket) -> Expr:
        """The literal predicate of a bucket (§3.4)."""
        if bucket.never:
            return false()
        parts: list[Expr] = [self.condition(c) for c in bucket.match]
        for clause in bucket.exclude:
            parts.append(not_(and_(*(self.condition(c) for c in clause))))
        return and_(*parts) if parts else true()

    def bucket_column(self, plan: BucketPlan, buckets: Sequence[Bucket]) -> Expr | None:
        """Per event: its bucket position (exclusive plans: first match in specificity order), or
        the bitmask of the ``buckets`` it is in (bit i = ``buckets[i]``)."""
        if not plan.filters:
            return None
        if plan.exclusive:
            default = literal(plan.default.position, Integer())
            simple = self._simple_bucket_case(plan, default)
            if simple is not None:
                return simple
            whens = [
                (and_(*(self.condition(c) for c in plan.buckets[pos].match)), literal(pos, Integer()))
                for pos in plan.specificity
            ]
            return case(*whens, else_=default) if whens else default
        terms = [
            case((self.bucket_predicate(b), literal(1 << i, BigInteger())), else_=0)
            for i, b in enumerate(buckets)
        ]
        total: Expr = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def _simple_bucket_case(self, plan: BucketPlan, default: Expr) -> Expr | None:
        """Filters on one and the same key (the common case): ``CASE properties ->> key WHEN v
        THEN position …`` looks the property up once per event."""
        conditions = [plan.buckets[pos].match for pos in plan.specificity]
        if not conditions or any(len(m) != 1 for m in conditions):
            return None
        key = conditions[0][0].key
        if any(m[0].key != key or any(_JSON_SCALAR.fullmatch(v) for v in m[0].values) for m in conditions):
            return None
        mapping: dict[str, Expr] = {}
        for pos, match in zip(plan.specificity, conditions, strict=True):
            for value in match[0].values:
                mapping.setdefault(value, literal(pos, Integer()))
        props = type_coerce(EVENTS.c.properties, Text())
        operand = props.op("->>", return_type=Text())(self._path(key))
        return case(mapping, value=operand, else_=default)

    @staticmethod
    def in_bucket(plan: BucketPlan, column: Expr, bucket: Bucket, buckets: Sequence[Bucket]) -> Expr:
        """Condition on the bucket column for one bucket."""
        if plan.exclusive:
            return column == bucket.position
        bit = 1 << list(buckets).index(bucket)
        return column.op("&", return_type=BigInteger())(literal(bit, BigInteger())) != 0

    # -- values -----------------------------------------------------------------------------

    def numeric(self) -> Expr:
        """The metered value of a numeric event, NULL otherwise (§2.2). PostgreSQL: NUMERIC;
        SQLite: the decimal TEXT. The typed column is read when it was written for this field
        (``value_field``), else the JSON property with the plain-decimal check."""
        if self.field_name is None:
            return literal(None, Numeric() if self.is_pg else Text())
        typed = EVENTS.c.value_field == self.field_name
        text = self.prop_text(self.field_name)
        if self.is_pg:
            fallback = cast(case((text.regexp_match(NUMERIC_PATTERN), text)), Numeric())
            return case((typed, type_coerce(EVENTS.c.value, Numeric())), else_=fallback)
        return case(
            (typed, type_coerce(EVENTS.c.value, Text())),
            else_=func.billow_numeric(text, type_=Text()),
        )

    def scaled(self) -> Expr:
        """SQLite: ``value_scaled`` of a row whose typed value is this field's, else NULL."""
        if self.field_name is None:
            return literal(None, BigInteger())
        return case((EVENTS.c.value_field == self.field_name, EVENTS.c.value_scaled))

    def scaled_below(self, bound: int) -> Expr:
        """SQLite: :meth:`scaled` where its magnitude is below ``bound``, else NULL — one CASE
        (a CASE around :meth:`scaled` would evaluate it twice per row)."""
        if self.field_name is None:
            return literal(None, BigInteger())
        typed = EVENTS.c.value_field == self.field_name
        return case((and_(typed, func.abs(EVENTS.c.value_scaled) < bound), EVENTS.c.value_scaled))

    def operation_is_add(self) -> Expr:
        """``COALESCE(properties ->> 'operation_type', 'add') = 'add'`` (anything else removes;
        on SQLite ``->>`` is enough: a JSON number or boolean is not ``'add'`` either way)."""
        props = type_coerce(EVENTS.c.properties, Text())
        text = props.op("->>", return_type=Text())(self._path("operation_type"))
        is_add = cast(func.coalesce(text, "add") == "add", Boolean())
        if self.is_pg:
            return is_add
        # most events carry no operation_type: a substring test spares the JSON lookup
        return case((func.instr(props, "operation_type") == 0, true()), else_=is_add)

    def unique_value(self) -> Expr:
        """The unique_count value: the text form (a missing property is one NULL value).

        SQLite reads ``value_text`` when it was written for this field (``value_field``): it is
        the property's text form as ingestion computed it, equal to the JSON lookup (strings,
        integers, booleans as themselves; floats as the stored JSON token, see
        ``property_text``), without parsing the properties of every row."""
        if self.field_name is None:
            return literal(None, Text())
        text = self.prop_text(self.field_name)
        if self.is_pg:
            return text
        return case((EVENTS.c.value_field == self.field_name, EVENTS.c.value_text), else_=text)

    # -- time -------------------------------------------------------------------------------

    def time_value(self, moment: datetime) -> Any:
        """A bind value comparable with :meth:`timestamp`."""
        return moment.astimezone(UTC) if self.is_pg else sqlite_time(moment)

    def time_type(self) -> TypeEngine[Any]:
        return EVENTS.c.timestamp.type if self.is_pg else Text()

    def timestamp(self) -> Expr:
        return EVENTS.c.timestamp if self.is_pg else type_coerce(EVENTS.c.timestamp, Text())

    def micros_until(self, params: Params, *, clamp: bool = True) -> Expr:
        """Microseconds from ``max(timestamp, F)`` to T' (the weighted-sum weight; an exact
        NUMERIC on PostgreSQL, an INTEGER on SQLite). Params ``w_end``, ``w_floor``(``_us``).
        ``clamp=False``: the scan never reads a row before F (SQLite then skips the comparison
        of every row's timestamp text with F)."""
        ts = self.timestamp()
        if self.is_pg:
            start = func.greatest(ts, params.bind("w_floor"))
            return extract("epoch", params.bind("w_end") - start) * 1_000_000
        # ``timestamp_us`` is written at ingestion; rows stored without it (none written by
        # Billow today, but the column is nullable) parse the text (COALESCE is lazy in SQLite).
        parsed = func.unixepoch(func.substr(ts, 1, 19)) * 1_000_000 + cast(func.substr(ts, 21, 6), Integer())
        ts_us = func.coalesce(EVENTS.c.timestamp_us, parsed)
        if not clamp:
            return params.bind("w_end") - ts_us
        return params.bind("w_end") - case(
            (ts < params.bind("w_floor"), params.bind("w_floor_us")), else_=ts_us
        )

    def local_day_number(self, params: Params, name: str, moment: Expr | None = None) -> Expr:
        """The local calendar date (days since 1970-01-01) of ``moment`` (default: the event
        timestamp) shifted by the ``name`` parameter set (:func:`set_local_day`); exact on both
        databases (SQLite: by the zone's UTC offsets over the window)."""
        ts = self.timestamp() if moment is None else moment
        if self.is_pg:
            shifted = ts + params.bind(f"{name}_shift")
            local = cast(func.timezone(params.bind(f"{name}_tz"), shifted), Date())
            return local - literal(date(1970, 1, 1), Date())
        base = func.substr(ts, 1, 19)
        count = params.values[f"{name}_n"]
        whens = [
            (ts < params.bind(f"{name}_b{i}"), _sqlite_day(base, params.bind(f"{name}_o{i}")))
            for i in range(count - 1)
        ]
        last = _sqlite_day(base, params.bind(f"{name}_o{count - 1}"))
        return case(*whens, else_=last) if whens else last

    def set_local_day(
        self, params: Params, name: str, tz: str, window: tuple[datetime, datetime], shift: timedelta
    ) -> int:
        """Register the values of :meth:`local_day_number`; returns the shape (segment count)."""
        if self.is_pg:
            params.set(f"{name}_tz", tz, Text())
            params.set(f"{name}_shift", shift, Interval())
            params.values[f"{name}_n"] = 1
            return 1
        extra = int(shift.total_seconds())
        segments = offset_segments(tz, window[0], window[1])
        for i, (until, offset) in enumerate(segments):
            params.set(f"{name}_o{i}", f"{offset + extra:+d} seconds", Text())
            if until is not None:
                params.set(f"{name}_b{i}", sqlite_time(until - shift), Text())
        params.values[f"{name}_n"] = len(segments)
        return len(segments)

    def utc_day(self, moment: Expr) -> Expr:
        """The UTC calendar date of a timestamp expression (Lago's ``DATE(timestamp)``)."""
        if self.is_pg:
            return cast(func.timezone("UTC", moment), Date())
        return func.substr(moment, 1, 10)


def _sqlite_day(base: Expr, modifier: Expr) -> Expr:
    return cast(func.julianday(func.date(base, modifier)) - 2440587.5, Integer())
