"""Group commit for single events: concurrent ``POST /events`` share database round trips.

A durable commit costs a disk flush, so one transaction per event caps single-event ingestion
far below what the database can insert. Requests hand their validated record to the
``AsyncGroupCommitter`` and wait on the event loop (an asyncio future); up to ``max_concurrent``
flushes run at a time on worker threads, each inserting every record pending when it starts,
and a finishing flush starts the next one if records arrived meanwhile. A single event thus
costs no thread hop of its own: a flush's one hop serves all of its events.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager

from billow.metering.store import EventRecord

Flush = Callable[[Sequence[EventRecord]], list[int]]
"""Insert the records; return the indexes that were duplicates."""


class AsyncGroupCommitter:
    """Group commit for requests on event loops: ``await submit(record)``.

    Flushes run on ``executor`` (under ``guard``); their completion answers every waiter of the
    group on the waiter's own loop. Thread-safe, so requests of several loops (test clients) may
    share it.
    """

    def __init__(
        self,
        flush: Flush,
        *,
        executor: Executor,
        guard: Callable[[], AbstractContextManager[object]],
        max_batch: int = 500,
        max_concurrent: int = 1,
    ) -> None:
        self._flush = flush
        self._executor = executor
        self._guard = guard
        self._max_batch = max_batch
        self._max_concurrent = max_concurrent
        self._lock = threading.Lock()
        self._pending: list[tuple[EventRecord, asyncio.Future[bool]]] = []
        self._active = 0

    async def submit(self, record: EventRecord) -> bool:
        """Store ``record``; True if inserted, False if it was a duplicate. Re-raises a flush error."""
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._pending.append((record, waiter))
            batch = self._take()
        if batch:
            self._start(batch)
        return await waiter

    def _take(self) -> list[tuple[EventRecord, asyncio.Future[bool]]]:
        """Under the lock: the next group, if a flush slot is free."""
        if not self._pending or self._active >= self._max_concurrent:
            return []
        self._active += 1
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        return batch

    def _start(self, batch: list[tuple[EventRecord, asyncio.Future[bool]]]) -> None:
        records = [record for record, _ in batch]
        try:
            future = self._executor.submit(self._guarded_flush, records)
        except BaseException as exc:  # executor shut down: the group gets the error
            self._finish(batch, None, exc)
            return
        future.add_done_callback(lambda done: self._done(batch, done))

    def _guarded_flush(self, records: list[EventRecord]) -> list[int]:
        with self._guard():
            return self._flush(records)

    def _done(self, batch: list[tuple[EventRecord, asyncio.Future[bool]]], done: Future[list[int]]) -> None:
        """In the flushing thread: answer the group, then start the next one."""
        error = done.exception()
        self._finish(batch, None if error is not None else done.result(), error)
        with self._lock:
            following = self._take()
        if following:
            self._start(following)

    def _finish(
        self,
        batch: list[tuple[EventRecord, asyncio.Future[bool]]],
        duplicates: list[int] | None,
        error: BaseException | None,
    ) -> None:
        with self._lock:
            self._active -= 1
        skipped = set(duplicates or ())
        answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], bool]]] = {}
        for index, (_, waiter) in enumerate(batch):
            answers.setdefault(waiter.get_loop(), []).append((waiter, index not in skipped))
        for loop, waiters in answers.items():  # one wake-up per loop, not per waiter
            if not loop.is_closed():
                loop.call_soon_threadsafe(_answer, waiters, error)


def _answer(waiters: list[tuple[asyncio.Future[bool], bool]], error: BaseException | None) -> None:
    for waiter, inserted in waiters:
        if waiter.done():  # the request was cancelled
            continue
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(inserted)


def by_organization(records: Sequence[EventRecord]) -> dict[uuid.UUID, list[int]]:
    """Indexes of ``records`` grouped by organization (insert_many is scoped to one)."""
    groups: dict[uuid.UUID, list[int]] = {}
    for index, record in enumerate(records):
        groups.setdefault(record.organization_id, []).append(index)
    return groups
