"""``SqlEventStore``: events in the relational database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Column, MetaData, Table, Text, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import Insert

from billow.core.pagination import PageParams
from billow.db.context import Ctx
from billow.db.sqlite_functions import scaled_value
from billow.db.upsert import pg_json_recordset
from billow.metering.aggregation.units import epoch_micros
from billow.metering.models import Event
from billow.metering.store.aggregate_sql import SqlAggregation
from billow.metering.store.base import EventFilters, EventRecord

EVENTS: Table = Event.__table__  # type: ignore[assignment]
DEDUPE_KEY = ("organization_id", "transaction_id", "external_subscription_id")

_COLUMNS = (
    EVENTS.c.id,
    EVENTS.c.organization_id,
    EVENTS.c.transaction_id,
    EVENTS.c.external_subscription_id,
    EVENTS.c.code,
    EVENTS.c.timestamp,
    EVENTS.c.properties,
    EVENTS.c.precise_total_amount_cents,
    EVENTS.c.value,
    EVENTS.c.value_text,
    EVENTS.c.value_field,
    EVENTS.c.created_at,
)


def _record(row: Any) -> EventRecord:
    return EventRecord(*row)


_INSERT_COLUMNS = (
    "id",
    "organization_id",
    "external_subscription_id",
    "transaction_id",
    "code",
    "timestamp",
    "properties",
    "precise_total_amount_cents",
    "value",
    "value_text",
    "value_field",
    "created_at",
    "value_scaled",  # SQLite rows only (see _sqlite_rows); PostgreSQL leaves it NULL
    "timestamp_us",  # SQLite rows only, likewise
)


def _pg_insert_stmt() -> Insert:
    """``INSERT … SELECT … FROM json_populate_recordset(NULL::events, :rows) ON CONFLICT DO
    NOTHING RETURNING id``: the whole batch travels as ONE JSON parameter (serialized by orjson,
    parsed by PostgreSQL in C), and the statement text never depends on the batch size."""
    source = pg_json_recordset("events", _INSERT_COLUMNS)
    return (
        postgresql.insert(EVENTS)
        .from_select(list(_INSERT_COLUMNS), select(*(source.c[n] for n in _INSERT_COLUMNS)))
        .on_conflict_do_nothing(index_elements=list(DEDUPE_KEY))
        .returning(EVENTS.c.id)
    )


def _pg_insert_new_stmt() -> Insert:
    """The same insert WITHOUT ``ON CONFLICT``: any duplicate aborts the whole statement."""
    source = pg_json_recordset("events", _INSERT_COLUMNS)
    return postgresql.insert(EVENTS).from_select(
        list(_INSERT_COLUMNS), select(*(source.c[n] for n in _INSERT_COLUMNS))
    )


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")  # exact; PostgreSQL reads it into numeric
    raise TypeError(type(value).__name__)


def _pg_rows_json(rows: Sequence[EventRecord]) -> str:
    """The records as a JSON array, straight from the dataclasses (their fields are the column
    names): orjson writes uuids and aware datetimes (RFC 3339) natively, decimals as exact text."""
    return orjson.dumps(list(rows), default=_json_default).decode()


# SQLite: the same table seen through plain text columns, fed with values already in the
# storage format of the mapped types (Uuid → 32 hex digits, UTCDateTime → naive UTC text with
# microseconds, ExactDecimal → plain decimal text, JsonDoc → JSON text). It skips SQLAlchemy's
# per-value bind processors on the hot path; test_event_store round-trips it through the real types.
_SQLITE_EVENTS = Table("events", MetaData(), *(Column(name, Text()) for name in _INSERT_COLUMNS))


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _sqlite_rows(rows: Sequence[EventRecord]) -> list[tuple[Any, ...]]:
    """Rows as tuples in ``_INSERT_COLUMNS`` order."""
    return [
        (
            r.id.hex,
            r.organization_id.hex,
            r.external_subscription_id,
            r.transaction_id,
            r.code,
            _sqlite_time(r.timestamp),
            orjson.dumps(r.properties).decode(),
            _decimal_text(r.precise_total_amount_cents),
            _decimal_text(r.value),
            r.value_text,
            r.value_field,
            _sqlite_time(r.created_at),
            scaled_value(r.value),  # exact integer SUM/MAX for the aggregation engine
            epoch_micros(r.timestamp),  # integer weighted-sum weights for the aggregation engine
        )
        for r in rows
    ]


def _sqlite_insert_sql() -> str:
    """The Core ``INSERT … ON CONFLICT DO NOTHING`` compiled once for SQLite (positional ``?``)."""
    stmt = sqlite.insert(_SQLITE_EVENTS).on_conflict_do_nothing(index_elements=list(DEDUPE_KEY))
    compiled = stmt.compile(dialect=sqlite.dialect(), column_keys=list(_INSERT_COLUMNS))
    if tuple(compiled.positiontup or ()) != _INSERT_COLUMNS:
        raise RuntimeError("unexpected parameter order in the SQLite events insert")
    return str(compiled)


_PG_INSERT = _pg_insert_stmt()
_PG_INSERT_NEW = _pg_insert_new_stmt()
UNIQUE_VIOLATION = "23505"
_SQLITE_INSERT = _sqlite_insert_sql()


class SqlEventStore(SqlAggregation):
    """Events in SQL. ``insert_many`` is one ``INSERT … ON CONFLICT DO NOTHING``: with
    ``RETURNING id`` from one JSON parameter on PostgreSQL, an executemany on SQLite."""

    def insert_many(self, ctx: Ctx, rows: Sequence[EventRecord]) -> list[int]:
        if not rows:
            return []
        if ctx.dialect == "postgresql":
            result = ctx.session.execute(_PG_INSERT, {"rows": _pg_rows_json(rows)})
            inserted: set[Any] = set(result.scalars())
            if len(inserted) == len(rows):
                return []
            keys: list[Any] = [row.id for row in rows]
        else:
            # sqlite3's executemany (a C loop over one prepared statement) on the session's own
            # connection and transaction, skipping SQLAlchemy's per-parameter processing. rowcount
            # says whether anything was ignored; only then are the inserted ids read back.
            cursor = ctx.session.connection().connection.cursor()
            try:
                cursor.executemany(_SQLITE_INSERT, _sqlite_rows(rows))
                if cursor.rowcount == len(rows):
                    return []
            finally:
                cursor.close()
            keys = [row.id.hex for row in rows]
            inserted = set(
                ctx.session.scalars(
                    select(_SQLITE_EVENTS.c.id).where(
                        _SQLITE_EVENTS.c.organization_id.in_({row.organization_id.hex for row in rows}),
                        _SQLITE_EVENTS.c.transaction_id.in_({row.transaction_id for row in rows}),
                    )
                )
            )  # may hold older events' ids too: only ours matter
        return [i for i, key in enumerate(keys) if key not in inserted]

    def insert_new(self, ctx: Ctx, rows: Sequence[EventRecord]) -> bool:
        """PostgreSQL, on an AUTOCOMMIT session: insert every row in one statement, or none of
        them when any is a duplicate (then False; ``insert_many`` in a transaction tells which).
        No ``ON CONFLICT``, no ``RETURNING``, no transaction round trips: the common case of an
        all-new batch costs one round trip."""
        if not rows:
            return True
        try:
            ctx.session.execute(_PG_INSERT_NEW, {"rows": _pg_rows_json(rows)})
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) == UNIQUE_VIOLATION:
                return False
            raise
        return True

    def get(self, ctx: Ctx, transaction_id: str) -> EventRecord | None:
        stmt = (
            select(*_COLUMNS)
            .where(
                EVENTS.c.organization_id == ctx.org_id,
                EVENTS.c.transaction_id == transaction_id,
                EVENTS.c.deleted_at.is_(None),
            )
            .order_by(EVENTS.c.created_at, EVENTS.c.timestamp)
            .limit(1)
        )
        row = ctx.session.execute(stmt).first()
        return None if row is None else _record(row)

    def list(self, ctx: Ctx, filters: EventFilters, page: PageParams) -> tuple[list[EventRecord], int]:
        base = _filtered(select(*_COLUMNS), ctx, filters)
        total = ctx.session.scalar(_filtered(select(func.count()).select_from(EVENTS), ctx, filters)) or 0
        if total == 0:
            return [], 0
        stmt = (
            base.order_by(EVENTS.c.timestamp.desc(), EVENTS.c.transaction_id.asc())
            .offset(page.offset)
            .limit(page.per_page)
        )
        return [_record(row) for row in ctx.session.execute(stmt)], total


def _filtered(stmt: Select[Any], ctx: Ctx, filters: EventFilters) -> Select[Any]:
    stmt = stmt.where(EVENTS.c.organization_id == ctx.org_id, EVENTS.c.deleted_at.is_(None))
    if filters.code is not None:
        stmt = stmt.where(EVENTS.c.code == filters.code)
    if filters.external_subscription_id is not None:
        stmt = stmt.where(EVENTS.c.external_subscription_id == filters.external_subscription_id)
    if filters.timestamp_from is not None:
        stmt = stmt.where(EVENTS.c.timestamp >= filters.timestamp_from)
    if filters.timestamp_to is not None:
        stmt = stmt.where(EVENTS.c.timestamp <= filters.timestamp_to)
    return stmt
