"""Exact SUM / MAX / weighted sums over the rows subquery, per dialect, and reading them back.

PostgreSQL aggregates the NUMERIC value ``v`` natively. SQLite has no exact numeric type: it sums
the integer ``s`` (value × 10^6) natively and hands the rows without one (huge or very precise
values, JSON fallbacks) to ``billow_dsum``/``billow_dmax`` (exact Python ``Decimal``) with a
``FILTER``, so the common rows never leave SQLite's C code. A 64-bit overflow of the integer sum
raises an error; the caller then re-runs the query in ``exact`` mode (every row through
``billow_dsum``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import BigInteger, Numeric, Text, and_, func, null, type_coerce
from sqlalchemy.sql import ColumnElement, FromClause

from billow.core.money import DECIMAL_CONTEXT, ZERO
from billow.db.sqlite_functions import VALUE_SCALE
from billow.metering.store.aggregate_exprs import Dialect, Expr

_S_BITS = 20
_W_BITS = 22
_SMALL = 1 << 40
MAX_WEIGHT_BITS = 43
"""Weights (µs to T') must stay below 2^43 (about 100 days) for the native SQLite path."""


def _shift(value: Any, bits: int) -> Expr:
    result: Expr = value.op(">>", return_type=BigInteger())(bits)
    return result


def _mask(value: Any, bits: int) -> Expr:
    result: Expr = value.op("&", return_type=BigInteger())((1 << bits) - 1)
    return result


def _filtered(aggregate: Any, cond: Expr | None) -> Expr:
    result: Expr = aggregate.filter(cond) if cond is not None else aggregate
    return result


def _and(cond: Expr | None, extra: Expr) -> Expr:
    return extra if cond is None else and_(cond, extra)


def to_decimal(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):  # never expected: every numeric path is exact
        raise TypeError("float reached the aggregation engine")
    return Decimal(str(raw))


def from_scaled(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    with localcontext(DECIMAL_CONTEXT):
        return Decimal(int(raw)).scaleb(-VALUE_SCALE)


class Numbers:
    """Exact aggregates of the value columns of ``r`` (``v`` on PostgreSQL; ``n``/``s`` on SQLite)."""

    def __init__(self, dialect: Dialect, *, exact: bool = False) -> None:
        self.dialect = dialect
        self.is_pg = dialect.is_pg
        self.exact = exact

    def value_columns(self, *, weighted: bool = False) -> list[Expr]:
        """``weighted`` (the statement computes :meth:`weighted`): on SQLite also ``si``, the
        scaled value where the native products apply (|s| < 2^40), else NULL — tested once per
        row instead of once per partial product."""
        if self.is_pg:
            return [self.dialect.numeric().label("v")]
        cols: list[Expr] = [self.dialect.numeric().label("n")]
        if not self.exact:
            scaled = self.dialect.scaled()
            cols.append(scaled.label("s"))
            if weighted:
                cols.append(self.dialect.scaled_below(_SMALL).label("si"))
        return cols

    # -- SUM --------------------------------------------------------------------------------

    def sum(self, r: FromClause, cond: Expr | None, name: str) -> list[Expr]:
        if self.is_pg:
            return [_filtered(func.sum(r.c.v), cond).label(name)]
        if self.exact:
            return [_filtered(func.billow_dsum(r.c.n, type_=Text()), cond).label(name + "_d")]
        return [
            _filtered(func.sum(r.c.s, type_=BigInteger()), cond).label(name + "_s"),
            _filtered(func.billow_dsum(r.c.n, type_=Text()), _and(cond, r.c.s.is_(None))).label(name + "_d"),
        ]

    def read_sum(self, row: Mapping[str, Any], name: str) -> Decimal | None:
        if self.is_pg:
            return to_decimal(row[name])
        parts = [to_decimal(row[name + "_d"])]
        if not self.exact:
            parts.append(from_scaled(row[name + "_s"]))
        present = [p for p in parts if p is not None]
        if not present:
            return None
        with localcontext(DECIMAL_CONTEXT):
            return sum(present, ZERO)

    # -- MAX --------------------------------------------------------------------------------

    def max(self, r: FromClause, cond: Expr | None, name: str) -> list[Expr]:
        if self.is_pg:
            return [_filtered(func.max(r.c.v), cond).label(name)]
        if self.exact:
            return [_filtered(func.billow_dmax(r.c.n, type_=Text()), cond).label(name + "_d")]
        return [
            _filtered(func.max(r.c.s, type_=BigInteger()), cond).label(name + "_s"),
            _filtered(func.billow_dmax(r.c.n, type_=Text()), _and(cond, r.c.s.is_(None))).label(name + "_d"),
        ]

    def read_max(self, row: Mapping[str, Any], name: str) -> Decimal | None:
        if self.is_pg:
            return to_decimal(row[name])
        parts = [to_decimal(row[name + "_d"])]
        if not self.exact:
            parts.append(from_scaled(row[name + "_s"]))
        present = [p for p in parts if p is not None]
        return max(present) if present else None

    # -- Σ value × weight (weighted sum, prorated days) -------------------------------------

    def weighted(self, r: FromClause, weight: Any, cond: Expr | None, name: str) -> list[Expr]:
        """Σ value × weight, the weight a non-negative integer column of ``r`` below 2^43
        (microseconds of ≤ 100 days, or day counts); PostgreSQL: any exact NUMERIC.

        SQLite: with |s| < 2^40 split in 20-bit halves and the weight in 22-bit halves, each of
        the four partial products stays below 2^42, so SQLite sums them natively without
        overflow for up to 2^21 rows per group (beyond, a SUM overflow raises and the query
        re-runs exactly); rows with huge or no scaled values go through ``billow_wsum``."""
        if self.is_pg:
            return [_filtered(func.sum(r.c.v * type_coerce(weight, Numeric())), cond).label(name)]
        if self.exact:
            return [_filtered(func.billow_wsum(null(), r.c.n, weight, type_=Text()), cond).label(name)]
        if "si" in r.c:  # NULL where the products do not apply: SUM skips those rows
            s: Any = r.c.si
            small: Expr | None = None
            large: Expr = r.c.si.is_(None)
        else:
            s = r.c.s
            small = and_(r.c.s.is_not(None), func.abs(r.c.s) < _SMALL)
            large = ~small
        s_hi, s_lo = _shift(s, _S_BITS), _mask(s, _S_BITS)
        w_hi, w_lo = _shift(weight, _W_BITS), _mask(weight, _W_BITS)
        parts = {"hh": s_hi * w_hi, "hl": s_hi * w_lo, "lh": s_lo * w_hi, "ll": s_lo * w_lo}
        native_cond = cond if small is None else _and(cond, small)
        out: list[ColumnElement[Any]] = [
            _filtered(func.sum(product, type_=BigInteger()), native_cond).label(f"{name}_{part}")
            for part, product in parts.items()
        ]
        out.append(
            _filtered(func.billow_wsum(r.c.s, r.c.n, weight, type_=Text()), _and(cond, large)).label(
                name + "_d"
            )
        )
        return out

    def read_weighted(self, row: Mapping[str, Any], name: str) -> Decimal:
        if self.is_pg or self.exact:
            return to_decimal(row[name]) or ZERO
        hh, hl, lh, ll = (int(row[f"{name}_{part}"] or 0) for part in ("hh", "hl", "lh", "ll"))
        native = (hh << (_S_BITS + _W_BITS)) + (hl << _S_BITS) + (lh << _W_BITS) + ll
        with localcontext(DECIMAL_CONTEXT):
            return Decimal(native).scaleb(-VALUE_SCALE) + (to_decimal(row[name + "_d"]) or ZERO)

    # -- plain decimal TEXT/NUMERIC columns (precise_total_amount_cents) -------------------

    def sum_column(self, col: Any, cond: Expr | None, name: str) -> Expr:
        if self.is_pg:
            return _filtered(func.sum(type_coerce(col, Numeric())), cond).label(name)
        return _filtered(func.billow_dsum(type_coerce(col, Text()), type_=Text()), cond).label(name)
