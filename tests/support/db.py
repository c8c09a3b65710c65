"""Test databases: a migrated SQLite file or a fresh PostgreSQL database per pytest worker."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

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


def wipe(db: Database) -> None:
    """Empty every table (fast enough to run before each test)."""
    tables = [t for t in reversed(metadata.sorted_tables) if t.name != "alembic_version"]
    with db.engine.begin() as conn:
        if db.is_postgres:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())
