"""AsyncGroupCommitter: concurrent submitters share flushes; duplicates and failures reach their waiter."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime

import pytest

from billow.metering.events.group_commit import AsyncGroupCommitter, by_organization
from billow.metering.store import EventRecord

ORG = uuid.uuid4()
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def rec(tx, org=ORG):
    return EventRecord(uuid.uuid4(), org, tx, "s", "c", NOW, {}, None, None, None, None, NOW)


class FakeStore:
    def __init__(self, delay=0.002):
        self.keys = set()
        self.batches = []
        self.delay = delay
        self.lock = threading.Lock()

    def flush(self, records):
        with self.lock:
            self.batches.append(len(records))
            threading.Event().wait(self.delay)
            dups = []
            for i, r in enumerate(records):
                key = (r.organization_id, r.transaction_id)
                if key in self.keys:
                    dups.append(i)
                self.keys.add(key)
            return dups


def committer_for(flush, pool, **kwargs):
    return AsyncGroupCommitter(flush, executor=pool, guard=nullcontext, **kwargs)


async def submit_all(committer, records):
    return await asyncio.gather(*(committer.submit(r) for r in records))


def test_concurrent_submits_are_grouped_and_deduplicated():
    store = FakeStore()
    with ThreadPoolExecutor(2) as pool:
        committer = committer_for(store.flush, pool)
        results = asyncio.run(submit_all(committer, [rec(f"t{i % 150}") for i in range(300)]))
    assert results.count(True) == 150
    assert results.count(False) == 150
    assert sum(store.batches) == 300
    assert len(store.batches) < 300  # some flushes carried several events


def test_flush_failure_reaches_the_waiters_and_the_committer_recovers():
    calls = []

    def flush(records):
        calls.append(len(records))
        if len(calls) == 1:
            raise RuntimeError("database is down")
        return []

    with ThreadPoolExecutor(1) as pool:
        committer = committer_for(flush, pool)
        with pytest.raises(RuntimeError, match="database is down"):
            asyncio.run(committer.submit(rec("a")))
        assert asyncio.run(committer.submit(rec("b"))) is True
    assert committer._active == 0


def test_max_batch_splits_flushes():
    store = FakeStore(delay=0.01)
    with ThreadPoolExecutor(1) as pool:
        committer = committer_for(store.flush, pool, max_batch=3)
        assert all(asyncio.run(submit_all(committer, [rec(f"t{i}") for i in range(40)])))
    assert max(store.batches) <= 3
    assert sum(store.batches) == 40


def test_by_organization():
    other = uuid.uuid4()
    assert by_organization([rec("a"), rec("b", other), rec("c")]) == {ORG: [0, 2], other: [1]}


@pytest.mark.parametrize("lanes", [2, 4])
def test_concurrent_flushes_lose_nothing(lanes):
    store = FakeStore(delay=0.001)
    with ThreadPoolExecutor(lanes) as pool:
        committer = committer_for(store.flush, pool, max_concurrent=lanes, max_batch=5)
        results = asyncio.run(submit_all(committer, [rec(f"t{i % 250}") for i in range(500)]))
    assert results.count(True) == 250
    assert sum(store.batches) == 500
    assert committer._active == 0
    assert committer._pending == []


def test_requests_of_several_loops_share_the_committer():
    """Test clients run requests on loops of their own threads; each waiter is answered on its loop."""
    store = FakeStore(delay=0.002)
    with ThreadPoolExecutor(2) as pool:
        committer = committer_for(store.flush, pool, max_concurrent=2)

        def one_loop(n):
            return asyncio.run(submit_all(committer, [rec(f"l{n}-{i % 20}") for i in range(40)]))

        with ThreadPoolExecutor(4) as loops:
            results = [r for rs in loops.map(one_loop, range(4)) for r in rs]
    assert results.count(True) == 80
    assert results.count(False) == 80
    assert committer._active == 0
