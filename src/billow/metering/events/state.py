"""Per-application ingestion state: event store, metric cache, group committer, writer lock."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from billow.core.clock import Clock
from billow.core.hooks import Hooks
from billow.db.context import Ctx
from billow.db.engine import Database
from billow.metering.events import service
from billow.metering.events.group_commit import AsyncGroupCommitter, by_organization
from billow.metering.events.service import notify_inserted
from billow.metering.hooks import IngestionHooks
from billow.metering.lookup import MetricCache
from billow.metering.store import EventRecord, EventStore, SqlEventStore
from billow.settings import Settings

FLUSH_LANES_POSTGRES = 2
"""Concurrent group flushes on PostgreSQL (its own group commit merges their disk flushes)."""
INGEST_THREADS = 8
"""Threads for batch requests (and metric-cache misses): their database waits overlap."""
T = TypeVar("T")


class MeteringState:
    """Built once per application (the API keeps it on ``app.state``).

    * ``metrics``: the short-TTL cache of the metrics ingestion needs, invalidated on writes;
    * ``committer``: group commit of single events (requests wait on the event loop; flushes run
      on this state's own threads). On PostgreSQL up to ``FLUSH_LANES_POSTGRES``
      groups are flushed at once, each on a dedicated AUTOCOMMIT connection, so a flush is one
      round trip per organization (no pool checkout, ping, BEGIN or separate COMMIT); each
      statement is atomic on its own;
    * ``write_guard``: on SQLite, a process-wide writer lock (one writer at a time beats SQLite's
      sleeping busy handler); a no-op on PostgreSQL;
    * ``executor``: the threads that run ingestion's database work (``loop.run_in_executor``
      costs less than anyio's ``run_in_threadpool``);
    * ``transaction``: one transaction on a connection of ingestion's own (PostgreSQL), kept
      between requests, so a batch needs no pool checkout and no liveness ping.
    """

    def __init__(self, db: Database, clock: Clock, settings: Settings, *, hooks: Hooks | None = None) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.hooks = hooks or Hooks()
        self.store: EventStore = SqlEventStore()
        self.metrics = MetricCache()
        self.serial_writes = db.dialect == "sqlite"
        self._write_lock = threading.Lock() if self.serial_writes else None
        self._idle: list[Connection] = []  # dedicated AUTOCOMMIT connections (PostgreSQL)
        self._idle_tx: list[Connection] = []  # dedicated transactional connections (PostgreSQL)
        self._idle_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(INGEST_THREADS, thread_name_prefix="billow-ingest")
        lanes = FLUSH_LANES_POSTGRES if db.is_postgres else 1
        self._flushers = ThreadPoolExecutor(lanes, thread_name_prefix="billow-ingest-flush")
        self.committer = AsyncGroupCommitter(
            self._flush, executor=self._flushers, guard=self.write_guard, max_concurrent=lanes
        )

    def write_guard(self) -> AbstractContextManager[Any]:
        return self._write_lock if self._write_lock is not None else nullcontext()

    def _flush(self, records: Sequence[EventRecord]) -> list[int]:
        """Insert a group of single events (possibly of several organizations).

        A group with events that an ingestion listener wants (``IngestionHooks``) is inserted in
        one transaction with the work the listener queues (outbox); on PostgreSQL the others
        keep the AUTOCOMMIT fast path."""
        if self.db.is_postgres and not self._listened(records):
            return self._flush_autocommit(records)
        with self.db.session() as session:
            return self._insert(session, records, notify=True)

    def _listened(self, records: Sequence[EventRecord]) -> bool:
        """Whether any record may be wanted by a listener (True when the cache cannot tell)."""
        if not self.hooks.get(IngestionHooks).listeners:
            return False
        for org_id, indexes in by_organization(records).items():
            known = self.metrics.cached(org_id, {records[i].code for i in indexes})
            if known is None or any(m.listeners for m in known.values()):
                return True
        return False

    def _insert(self, session: Session, records: Sequence[EventRecord], *, notify: bool) -> list[int]:
        duplicates: list[int] = []
        for org_id, indexes in by_organization(records).items():
            ctx = Ctx(
                session=session,
                clock=self.clock,
                settings=self.settings,
                organization_id=org_id,
                hooks=self.hooks,
            )
            found = self.store.insert_many(ctx, [records[i] for i in indexes])
            duplicates.extend(indexes[d] for d in found)
            if not notify:
                continue
            if found:
                skipped = set(found)
                inserted = [records[i] for n, i in enumerate(indexes) if n not in skipped]
            else:
                inserted = [records[i] for i in indexes]
            notify_inserted(ctx, inserted, metrics=self.metrics)
        return duplicates

    def _flush_autocommit(self, records: Sequence[EventRecord]) -> list[int]:
        conn = self._checkout(self._idle, autocommit=True)
        try:
            with Session(bind=conn) as session:
                duplicates = self._insert(session, records, notify=False)
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        self._checkin(self._idle, conn)
        return duplicates

    def transaction(self, org_id: uuid.UUID, work: Callable[[Ctx], T]) -> T:
        """``work`` in one transaction (committed when it returns, rolled back when it raises).

        On PostgreSQL on a dedicated connection; one that turns out dead (server restarted) before
        the commit is dropped and the work retried once on a new one, as the pool's ping would
        have done."""
        if not self.db.is_postgres:
            with self.db.session() as session:
                return work(self._ctx(session, org_id))
        for attempt in (1, 2):
            conn = self._checkout(self._idle_tx, autocommit=False)
            committing = False
            try:
                with Session(bind=conn, expire_on_commit=False) as session:
                    result = work(self._ctx(session, org_id))
                    committing = True
                    session.commit()
            except DBAPIError as exc:
                conn.invalidate()
                conn.close()
                # Not after a failed COMMIT: the work may have been committed.
                if attempt == 1 and exc.connection_invalidated and not committing:
                    continue
                raise
            except BaseException:
                if conn.invalidated or conn.closed or conn.in_transaction():
                    conn.invalidate()
                    conn.close()
                else:
                    self._checkin(self._idle_tx, conn)
                raise
            self._checkin(self._idle_tx, conn)
            return result
        raise AssertionError("unreachable")

    def ingest_batch(self, org_id: uuid.UUID, raw_events: Any, *, max_length: int) -> list[EventRecord]:
        """``POST /events/batch`` on PostgreSQL, all or nothing.

        When the metric cache knows the batch's codes and no ingestion listener wants them, the
        batch is ONE strict ``INSERT`` on an AUTOCOMMIT connection (atomic by itself). Otherwise,
        or when that insert meets a duplicate, one transaction inserts with ``ON CONFLICT DO
        NOTHING``, names the duplicates (422, rolled back) and runs the listeners."""
        records = service.prepare_batch_cached(
            org_id, raw_events, now=self.clock.now(), max_length=max_length, metrics=self.metrics
        )
        if records is None:
            return self.transaction(
                org_id,
                lambda ctx: service.ingest_batch(
                    ctx, raw_events, max_length=max_length, metrics=self.metrics, store=self.store
                ),
            )
        store = self.store
        if (
            isinstance(store, SqlEventStore)
            and not self._listened(records)
            and self._insert_new(org_id, records, store)
        ):
            return records
        prepared = records

        def insert(ctx: Ctx) -> list[EventRecord]:
            service.store_batch(ctx, prepared, store=self.store)
            notify_inserted(ctx, prepared, metrics=self.metrics)
            return prepared

        return self.transaction(org_id, insert)

    def _insert_new(self, org_id: uuid.UUID, records: Sequence[EventRecord], store: SqlEventStore) -> bool:
        conn = self._checkout(self._idle, autocommit=True)
        try:
            with Session(bind=conn) as session:
                inserted = store.insert_new(self._ctx(session, org_id), records)
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        self._checkin(self._idle, conn)
        return inserted

    def _ctx(self, session: Session, org_id: uuid.UUID) -> Ctx:
        return Ctx(
            session=session,
            clock=self.clock,
            settings=self.settings,
            organization_id=org_id,
            hooks=self.hooks,
        )

    def _checkout(self, idle: list[Connection], *, autocommit: bool) -> Connection:
        with self._idle_lock:
            conn = idle.pop() if idle else None
        if conn is None or conn.closed or conn.invalidated:
            conn = self.db.engine.connect()
            if autocommit:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    def _checkin(self, idle: list[Connection], conn: Connection) -> None:
        with self._idle_lock:
            if len(idle) < INGEST_THREADS:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        self._flushers.shutdown(wait=True)
        self.executor.shutdown(wait=True)
        with self._idle_lock:
            idle, self._idle, self._idle_tx = [*self._idle, *self._idle_tx], [], []
        for conn in idle:
            conn.close()
