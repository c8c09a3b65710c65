"""The last flush before a commit, with many new rows: on PostgreSQL they go by ``COPY``.

A group of billing jobs (``billow.jobs.worker``) ends with one flush of everything its jobs
deferred: for 250 invoices, about 1,500 new rows (invoices, invoice-subscriptions, fees). Through
the unit of work each row costs its INSERT's bookkeeping (identity keys, parameter dictionaries,
one protocol message per row, an executor start per row on the server): about a quarter of the
run. ``COPY`` writes the same column values, converted by the same column types, in one stream
per table; the server inserts them in batches.

Only for the flush right before the commit — nothing reads the rows through the session after it:
they are taken out of the session (left transient), the rest is flushed by the unit of work
first, then each table's rows are copied in foreign-key order. A table's new rows go by COPY
only when all of this holds, else they stay with the unit of work:

* at least :data:`COPY_MIN_ROWS` of them, of a plain single-table mapping without inheritance
  or version counter, whose class no one-to-many or many-to-many relationship collects and whose
  relationships cascade no expunge;
* every row holds a value for every column (as :func:`billow.db.rows.new_row` builds them), or
  a scalar column default for the missing ones — no callable or server default to run, no
  relationship attribute set (whose foreign key the flush would copy over);
* no row the unit of work writes, new or updated, points to the table (those rows go first).

SQLite, and any other flush, use the unit of work as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from operator import itemgetter
from typing import Any, cast

import orjson
import psycopg
from psycopg.types.json import _JsonWrapper
from sqlalchemy import ColumnElement, Table, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.interfaces import MANYTOMANY, ONETOMANY
from sqlalchemy.sql import sqltypes

from billow.db.engine import bulk_flush_settings

COPY_MIN_ROWS = 100

_MISSING = object()


@dataclass(frozen=True)
class _Layout:
    """How a mapped class's rows become COPY rows: the table, its column names, and per column
    the attribute key, the scalar default for a missing value, and the bind conversion (of
    ``None`` too, as the unit of work does: a JSON column stores it as JSON ``null``)."""

    table: Table
    columns: tuple[str, ...]
    keys: tuple[str, ...]
    defaults: tuple[Any, ...]
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]
    relationship_keys: frozenset[str]

    @cached_property
    def values_of(self) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        """The values of every key (a ``KeyError`` for a missing one), as a tuple."""
        if len(self.keys) == 1:
            key = self.keys[0]
            return lambda values: (values[key],)
        return itemgetter(*self.keys)


def _json_text(wrapped: Any) -> Any:
    """A JSON value as the column's type hands it to psycopg (a ``Json``/``Jsonb`` wrapper),
    serialized here by orjson (the stored document is the same; ``json.dumps`` where orjson
    declines, e.g. an integer beyond 64 bits)."""
    if not isinstance(wrapped, _JsonWrapper):
        return wrapped
    if wrapped.dumps is not None:
        return wrapped.dumps(wrapped.obj)
    try:
        return orjson.dumps(wrapped.obj, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(wrapped.obj)


def _converter(column: ColumnElement[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    process = column.type._cached_bind_processor(dialect)
    if process is None or column.type._type_affinity is not sqltypes.JSON:
        return process
    return lambda value: _json_text(process(value))


def _collected_classes(mapper: Mapper[Any]) -> frozenset[type]:
    """Classes some relationship holds in a collection (their rows may be reached through it)."""
    found: set[type] = set()
    for other in mapper.registry.mappers:
        for rel in other.relationships:
            if rel.direction in (ONETOMANY, MANYTOMANY):
                found.add(rel.mapper.class_)
    return frozenset(found)


@cache
def _layout(cls: type, dialect: Dialect) -> _Layout | None:
    mapper: Mapper[Any] = inspect(cls)
    if mapper.inherits is not None or mapper.polymorphic_on is not None or mapper.version_id_col is not None:
        return None
    if not isinstance(mapper.local_table, Table) or cls in _collected_classes(mapper):
        return None
    if any("expunge" in rel.cascade for rel in mapper.relationships):
        return None  # taken out of the session without cascading (``_expunge_states``)
    columns, keys, defaults, convert = [], [], [], []
    for position, prop in enumerate(mapper.column_attrs):
        if len(prop.columns) != 1:
            return None
        column = prop.columns[0]
        if column.table is not mapper.local_table or column.server_default is not None:
            return None
        default = column.default
        if default is None:
            scalar = None if column.nullable else _MISSING
        elif default.is_scalar:
            scalar = default.arg
        else:
            scalar = _MISSING
        columns.append(column.name)
        keys.append(prop.key)
        defaults.append(scalar)
        process = _converter(column, dialect)
        if process is not None:
            convert.append((position, process))
    return _Layout(
        mapper.local_table,
        tuple(columns),
        tuple(keys),
        tuple(defaults),
        tuple(convert),
        frozenset(rel.key for rel in mapper.relationships),
    )


@dataclass(frozen=True)
class _Copy:
    """A table's new rows going by COPY: the instances and their COPY rows (in order)."""

    layout: _Layout
    objs: list[Any]
    rows: list[tuple[Any, ...]]


def _row(layout: _Layout, values: dict[str, Any]) -> tuple[Any, ...] | None:
    """The COPY row of an instance's ``__dict__``; ``None`` when a value is missing that has no
    scalar default (or a relationship is set)."""
    if not layout.relationship_keys.isdisjoint(values):
        return None
    try:
        row = list(layout.values_of(values))
    except KeyError:
        row = [values.get(key, default) for key, default in zip(layout.keys, layout.defaults, strict=True)]
        if any(value is _MISSING for value in row):
            return None
    for position, process in layout.convert:
        row[position] = process(row[position])
    return tuple(row)


def _copyable(session: Session, dialect: Dialect, min_rows: int) -> dict[Table, _Copy]:
    by_class: dict[type, list[Any]] = {}
    for obj in session.new:
        by_class.setdefault(type(obj), []).append(obj)
    plans: dict[Table, _Copy] = {}
    staying: set[Table] = set()
    for cls, objs in by_class.items():
        layout = _layout(cls, dialect) if len(objs) >= min_rows else None
        rows = [_row(layout, obj.__dict__) for obj in objs] if layout is not None else []
        if layout is None or any(row is None for row in rows):
            staying.add(inspect(cls).local_table)
            continue
        plans[layout.table] = _Copy(layout, objs, cast(list[tuple[Any, ...]], rows))
    # Updated rows are written by the unit of work too, before the copies.
    staying.update(inspect(type(obj)).local_table for obj in session.dirty)
    # A table some staying row points to is inserted by the unit of work too (its rows first).
    changed = True
    while changed:
        changed = False
        for table in list(plans):
            if any(fk.column.table is table for stay in staying for fk in stay.foreign_keys):
                staying.add(table)
                del plans[table]
                changed = True
    return plans


def flush_before_commit(session: Session, min_rows: int | None = None) -> int:
    """Flush ``session`` for its commit, the many new rows of plain tables by COPY on
    PostgreSQL (see the module); returns the number of rows copied. ``min_rows``: else
    :data:`COPY_MIN_ROWS`."""
    min_rows = COPY_MIN_ROWS if min_rows is None else min_rows
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or len(session.new) < min_rows:
        session.flush()
        return 0
    plans = _copyable(session, bind.dialect, min_rows)
    if not plans:
        session.flush()
        return 0
    # ``Session.expunge`` without its cascade walk (no copied class cascades an expunge).
    session._expunge_states([instance_state(obj) for plan in plans.values() for obj in plan.objs])
    session.flush()
    connection = session.connection()
    order = [t for t in _sorted_tables(next(iter(plans))) if t in plans]
    copied = 0
    driver = connection.connection.driver_connection
    assert driver is not None
    with bulk_flush_settings(connection), driver.cursor() as cursor:
        for table in order:
            plan = plans[table]
            columns = ", ".join(f'"{name}"' for name in plan.layout.columns)
            statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
            try:
                with cursor.copy(statement) as copy:
                    for row in plan.rows:
                        copy.write_row(row)
            except psycopg.Error as exc:
                # As the unit of work raises it (an ``IntegrityError`` for a constraint).
                raise DBAPIError.instance(statement, None, exc, psycopg.Error, dialect=bind.dialect) from exc
            copied += len(plan.rows)
    return copied


def _sorted_tables(table: Table) -> Sequence[Table]:
    assert table.metadata is not None
    return table.metadata.sorted_tables
