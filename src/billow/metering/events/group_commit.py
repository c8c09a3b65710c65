"""Group commit for single events: concurrent ``POST /events`` share database round trips.

A durable commit costs a disk flush, so one transaction per event caps single-event ingestion
far below what the database can insert. Requests here hand their validated record to a
``GroupCommitter`` and wait. Up to ``max_concurrent`` of them at a time act as leaders: a
leader inserts every pending record at once, answers each waiter (inserted, or duplicate),
then hands its slot to a waiter whose record arrived meanwhile. No background thread: the
requests' own threads do the work, so nothing outlives the application.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from billow.metering.store import EventRecord

Flush = Callable[[Sequence[EventRecord]], list[int]]
"""Insert the records; return the indexes that were duplicates."""


class _Item:
    __slots__ = ("designated", "done", "duplicate", "error", "ready", "record")

    def __init__(self, record: EventRecord) -> None:
        self.record = record
        self.ready = threading.Event()  # set when done, or when designated the next leader
        self.designated = False
        self.done = False
        self.duplicate = False
        self.error: BaseException | None = None


class GroupCommitter:
    def __init__(
        self,
        flush: Flush,
        *,
        guard: Callable[[], AbstractContextManager[object]],
        max_batch: int = 500,
        max_concurrent: int = 1,
    ) -> None:
        self._flush = flush
        self._guard = guard
        self._max_batch = max_batch
        self._max_concurrent = max_concurrent
        self._lock = threading.Lock()
        self._pending: list[_Item] = []
        self._active = 0

    def submit(self, record: EventRecord) -> bool:
        """Store ``record``; True if inserted, False if it was a duplicate. Re-raises a flush error."""
        item = _Item(record)
        with self._lock:
            self._pending.append(item)
            lead = self._active < self._max_concurrent
            if lead:
                self._active += 1
        while True:
            if lead:
                self._run()
            item.ready.wait()
            with self._lock:
                if item.done:
                    if item.designated:  # handed a slot, but another leader flushed it first
                        item.designated = False
                        self._release_slot()
                    break
                item.ready.clear()  # designated: take over a leader's slot
                item.designated = False
                lead = True
        if item.error is not None:
            raise item.error
        return not item.duplicate

    def _run(self) -> None:
        """Flush what is pending (maybe nothing: another leader took it), then hand the slot over."""
        with self._lock:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
        duplicates: list[int] = []
        error: BaseException | None = None
        if batch:
            try:
                with self._guard():
                    duplicates = self._flush([i.record for i in batch])
            except BaseException as exc:  # every waiter of this batch gets the failure
                error = exc
        with self._lock:
            for index in duplicates:
                batch[index].duplicate = True
            for i in batch:
                i.error = error
                i.done = True
                i.ready.set()
            self._release_slot()

    def _release_slot(self) -> None:
        """Under the lock: pass a leader's slot to a waiting record, or free it."""
        successor = next((i for i in self._pending if not i.designated), None)
        if successor is not None:
            successor.designated = True
            successor.ready.set()
        else:
            self._active -= 1


def by_organization(records: Sequence[EventRecord]) -> dict[uuid.UUID, list[int]]:
    """Indexes of ``records`` grouped by organization (insert_many is scoped to one)."""
    groups: dict[uuid.UUID, list[int]] = {}
    for index, record in enumerate(records):
        groups.setdefault(record.organization_id, []).append(index)
    return groups
