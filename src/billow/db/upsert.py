"""Insert-or-ignore across SQLite and PostgreSQL (no read-then-write races)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def insert_ignore_stmt(
    session: Session, table: Any, conflict_columns: Sequence[str], *, index_where: Any = None
) -> Insert:
    """``table``: a Table or a mapped class. ``index_where``: the predicate of a partial unique
    index on ``conflict_columns`` (both databases need it to pick that index)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(
            index_elements=list(conflict_columns), index_where=index_where
        )
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(
            index_elements=list(conflict_columns), index_where=index_where
        )
    raise NotImplementedError(dialect)


def insert_ignore(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], conflict_columns: Sequence[str]
) -> None:
    """Insert rows, silently skipping those that violate the unique index on ``conflict_columns``.

    (Drivers do not report a reliable rowcount here: use RETURNING when you need to know.)
    """
    if not rows:
        return
    session.execute(insert_ignore_stmt(session, table, conflict_columns), list(rows))


def pg_json_recordset(table_name: str, columns: Sequence[str]) -> Any:
    """PostgreSQL: ``json_populate_recordset(NULL::<table_name>, :rows) AS r`` with ``columns``, a
    FROM item whose rows travel as ONE JSON parameter ``rows`` (a JSON array of objects keyed by
    column). Parsed by PostgreSQL in C, and the statement text never depends on how many rows:
    a multi-row VALUES list of thousands of parameters spends most of its time in psycopg's query
    conversion."""
    return (
        func.json_populate_recordset(
            literal_column(f"NULL::{table_name}"), cast(bindparam("rows", type_=Text()), postgresql.JSON)
        )
        .table_valued(*columns)
        .alias("r")
    )
