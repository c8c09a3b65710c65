"""Test databases: a migrated SQLite file or a fresh PostgreSQL database per pytest worker."""

from __future__ import annotations

import os
import re
import uuid
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Table, create_engine, text
from sqlalchemy.engine import Connection, make_url

from billow.db.engine import Database
from billow.db.migrate import upgrade
from billow.models import metadata

PG_ENV = "BILLOW_TEST_DATABASE_URL"


def is_postgres_run() -> bool:
    return bool(os.environ.get(PG_ENV))


def create_test_database(tmp_dir: Path, worker: str) -> str:
    base = os.environ.get(PG_ENV)
    if not base:
        return f"sqlite:///{tmp_dir / f'billow-test-{worker}.db'}"
    url = make_url(base)
    name = f"{url.database or 'billow_test'}_{worker}_{uuid.uuid4().hex[:6]}"
    name = re.sub(r"[^a-z0-9_]", "_", name.lower())
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_test_database(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        return
    url = make_url(db_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def migrate(db_url: str) -> None:
    upgrade(db_url)
    if db_url.startswith("postgresql"):
        # Every table starts as ``wipe`` leaves a used one: vacuumed (the planner's statistics
        # say empty, not "never vacuumed"), whatever the tests before used.
        engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            _vacuum(conn, [t.name for t in _tables()])
        engine.dispose()


def _tables() -> list[Table]:
    """Every application table, children before parents (the order that deletes cleanly)."""
    return [t for t in reversed(metadata.sorted_tables) if t.name != "alembic_version"]


@lru_cache(maxsize=1)
def _sqlite_probe() -> str:
    """One statement naming the tables that hold rows."""
    return " UNION ALL ".join(
        f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in _tables()
    )


# PostgreSQL: the tables with any page at all (rows, or dead rows: a table that ever held a row),
# and the sequences drawn from. A fresh or truncated table has no page.
_PG_USED_TABLES = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
  AND c.relname <> 'alembic_version' AND pg_relation_size(c.oid) > 0
"""
_PG_USED_SEQUENCES = """
SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences
WHERE schemaname = current_schema() AND last_value IS NOT NULL
"""


def wipe(db: Database) -> None:
    """Empty every table as the migration leaves it (it seeds no rows); cheap enough before each
    test. Only the tables a test used are emptied, children first."""
    if db.is_postgres:
        _wipe_postgres(db)
        return
    with db.engine.begin() as conn:
        _delete_rows(conn, set(conn.execute(text(_sqlite_probe())).scalars()))


def _wipe_postgres(db: Database) -> None:
    """As ``TRUNCATE <every table> RESTART IDENTITY`` leaves the database, for a fraction of its
    cost (a ``TRUNCATE`` of the 50 tables, which it must list for their foreign keys, takes
    hundreds of milliseconds, and more as the run goes): the used tables' rows are deleted, then
    ``VACUUM`` gives their pages back, so that each used table is again without a page: its rows
    are stored (and scanned) in insertion order, as in a fresh table; the sequences restart. Should
    a table keep a page (a concurrent snapshot holding its dead rows), everything is truncated."""
    with db.engine.begin() as conn:
        used = set(conn.execute(text(_PG_USED_TABLES)).scalars())
        _delete_rows(conn, used)
        for seq in conn.execute(text(_PG_USED_SEQUENCES)).scalars():
            conn.execute(text(f"ALTER SEQUENCE {seq} RESTART"))
    if not used:
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        _vacuum(conn, sorted(used))
        if conn.execute(text(_PG_USED_TABLES)).first() is None:
            return
        everything = [t.name for t in _tables()]
        conn.execute(text(f"TRUNCATE {_quoted(everything)} RESTART IDENTITY CASCADE"))
        _vacuum(conn, everything)


def _delete_rows(conn: Connection, names: set[str]) -> None:
    """``DELETE`` every row of the tables named, children before parents."""
    for t in _tables():
        if t.name in names:
            conn.execute(t.delete())


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _vacuum(conn: Connection, names: list[str]) -> None:
    """``VACUUM`` (outside a transaction): a table whose rows are all deleted loses its pages."""
    conn.execute(text(f"VACUUM (INDEX_CLEANUP ON, TRUNCATE ON) {_quoted(names)}"))
