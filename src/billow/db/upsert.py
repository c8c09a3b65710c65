"""Insert-or-ignore across SQLite and PostgreSQL (no read-then-write races)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def insert_ignore_stmt(session: Session, table: Table, conflict_columns: Sequence[str]) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    raise NotImplementedError(dialect)


def insert_ignore(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], conflict_columns: Sequence[str]
) -> int:
    """Insert rows, silently skipping those that violate the unique index on ``conflict_columns``.

    Returns how many rows were inserted.
    """
    if not rows:
        return 0
    stmt = insert_ignore_stmt(session, table, conflict_columns)
    result = session.execute(stmt, list(rows))
    return int(getattr(result, "rowcount", 0) or 0)
