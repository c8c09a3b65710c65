"""Per-application ingestion state: event store, metric cache, group committer, writer lock."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from billow.core.clock import Clock
from billow.core.hooks import Hooks
from billow.db.context import Ctx
from billow.db.engine import Database
from billow.metering.events.group_commit import GroupCommitter, by_organization
from billow.metering.events.service import notify_inserted
from billow.metering.hooks import IngestionHooks
from billow.metering.lookup import MetricCache
from billow.metering.store import EventRecord, EventStore, SqlEventStore
from billow.settings import Settings

FLUSH_LANES_POSTGRES = 2
"""Concurrent group flushes on PostgreSQL (its own group commit merges their disk flushes)."""


class MeteringState:
    """Built once per application (the API keeps it on ``app.state``).

    * ``metrics``: the short-TTL cache of the metrics ingestion needs, invalidated on writes;
    * ``committer``: group commit of single events. On PostgreSQL up to ``FLUSH_LANES_POSTGRES``
      groups are flushed at once, each on a dedicated AUTOCOMMIT connection, so a flush is one
      round trip per organization (no pool checkout, ping, BEGIN or separate COMMIT); each
      statement is atomic on its own;
    * ``write_guard``: on SQLite, a process-wide writer lock (one writer at a time beats SQLite's
      sleeping busy handler); a no-op on PostgreSQL.
    """

    def __init__(self, db: Database, clock: Clock, settings: Settings, *, hooks: Hooks | None = None) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.hooks = hooks or Hooks()
        self.store: EventStore = SqlEventStore()
        self.metrics = MetricCache()
        self.serial_writes = db.dialect == "sqlite"
        self._write_lock = threading.Lock() if self.serial_writes else None
        self._idle: list[Connection] = []  # dedicated AUTOCOMMIT connections (PostgreSQL)
        self._idle_lock = threading.Lock()
        lanes = FLUSH_LANES_POSTGRES if db.is_postgres else 1
        self.committer = GroupCommitter(self._flush, guard=self.write_guard, max_concurrent=lanes)

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
        with self._idle_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed or conn.invalidated:
            conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            with Session(bind=conn) as session:
                duplicates = self._insert(session, records, notify=False)
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        with self._idle_lock:
            self._idle.append(conn)
        return duplicates

    def close(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
