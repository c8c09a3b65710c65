"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from billow.db import sqlite_functions


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy drive transactions; every transaction starts IMMEDIATE so that a
        # read-then-write transaction never fails to upgrade its lock (SQLITE_BUSY).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()
        sqlite_functions.register(dbapi_conn)  # exact decimal aggregates (usage aggregation)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# PostgreSQL ``work_mem`` of Billow's connections. With the stock 4 MB the planner expects a
# grouped usage aggregation (filters and group keys: several numeric sums per group, and a group
# count it can only guess) to overflow a hash table, and sorts every event on disk instead
# (bench/aggregate.py: 1.8× the bare query). Only statements that need it use the memory.
PG_WORK_MEM = "32MB"
# Every statement is planned for its own values (``plan_cache_mode``). psycopg prepares a
# statement run five times on a connection, and PostgreSQL then keeps a generic plan — made once,
# from the statistics of that moment, for no value in particular — for the connection's life;
# foreign-key checks cache theirs the same way. A worker that starts a first billing run sees
# empty ``fees``/``invoices`` statistics and kept plans that walk every row of the organization:
# bench/billing_run.py on PostgreSQL went 3× slower per invoice from 1,000 to 3,000
# subscriptions (a fee-history count from 3 to 643 buffer reads). Planning costs about 40 µs a
# statement (~1.2 ms per invoice), and plans stay right however the tables grow.
PG_PLAN_CACHE_MODE = "force_custom_plan"
# Sessions run in UTC whatever the server's default (``Etc/UTC`` on Debian): psycopg then hands
# out ``timestamptz`` values in ``datetime.UTC`` itself, which ``UTCDateTime`` passes through
# as they are (for a zone such as ``Etc/UTC``, ``astimezone`` cost ~19 µs a value: 0.9 s of a
# 5,000-subscription billing run). No SQL of Billow depends on the session's time zone.
PG_OPTIONS = f"-c work_mem={PG_WORK_MEM} -c plan_cache_mode={PG_PLAN_CACHE_MODE} -c TimeZone=UTC"


def make_engine(url: str, *, pool_size: int = 10, null_pool: bool = False) -> Engine:
    pool_args: dict[str, Any] = (
        {"poolclass": NullPool} if null_pool else {"pool_size": pool_size, "max_overflow": 20}
    )
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, **pool_args)
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if "options" not in make_url(url).query:  # the URL's own ``?options=-c ...`` win
        connect_args["options"] = PG_OPTIONS
    return create_engine(url, pool_pre_ping=not null_pool, connect_args=connect_args, **pool_args)


# A flush that inserts at least this many rows — a group of billing jobs writes its invoices,
# invoice-subscriptions and fees at once — runs its foreign-key checks on cached plans.
# PostgreSQL checks each foreign key of each row with a lookup by primary key; under
# ``force_custom_plan`` that lookup is planned again every time: three quarters of the time of
# inserting a group's fees, 3 foreign keys each (4,000 fees: 1.2–1.6 s against 0.33 s with
# cached plans). So around such a flush the session takes ``plan_cache_mode = auto`` (cached
# plans) and ``enable_seqscan = off``: a plan cached while a referenced table is still small (a
# first billing run) is then an index scan too, never a sequential scan kept while the table
# grows (seen with ``auto`` alone: the fees INSERT 2.5× slower). The flush's own statements are
# INSERTs and updates by primary key, for which that changes nothing; the connection's settings
# are back for the next statement.
BULK_FLUSH_ROWS = 50
_BULK_FLUSH_ON = "SET LOCAL plan_cache_mode = auto; SET LOCAL enable_seqscan = off"
_BULK_FLUSH_OFF = "SET LOCAL plan_cache_mode TO DEFAULT; SET LOCAL enable_seqscan TO DEFAULT"


@contextmanager
def bulk_flush_settings(connection: Connection) -> Iterator[None]:
    """Run a bulk write (PostgreSQL) between the settings of a bulk flush (see above)."""
    connection.exec_driver_sql(_BULK_FLUSH_ON)
    yield
    connection.exec_driver_sql(_BULK_FLUSH_OFF)


def _cached_plans_for_bulk_flushes(factory: sessionmaker[Session]) -> None:
    @event.listens_for(factory, "before_flush")
    def _before(session: Session, _context: Any, _instances: Any) -> None:
        bulk = session.info["bulk_flush"] = len(session.new) >= BULK_FLUSH_ROWS
        if bulk:
            session.connection().exec_driver_sql(_BULK_FLUSH_ON)

    @event.listens_for(factory, "after_flush_postexec")
    def _after(session: Session, _context: Any) -> None:
        if session.info.pop("bulk_flush", False):
            session.connection().exec_driver_sql(_BULK_FLUSH_OFF)


class Database:
    """Owns the engine; hands out sessions whose transaction is the unit of work."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False, autoflush=True)
        if self.is_postgres:
            _cached_plans_for_bulk_flushes(self.sessionmaker)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block succeeds, rolled back when it raises."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
