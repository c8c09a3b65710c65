"""GroupCommitter: concurrent submitters share flushes; duplicates and failures reach the right waiter."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime

import pytest

from billow.metering.events.group_commit import GroupCommitter, by_organization
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


def test_concurrent_submits_are_grouped_and_deduplicated():
    store = FakeStore()
    committer = GroupCommitter(store.flush, guard=nullcontext)
    txs = [f"t{i % 150}" for i in range(300)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda tx: committer.submit(rec(tx)), txs))
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

    committer = GroupCommitter(flush, guard=nullcontext)
    with pytest.raises(RuntimeError, match="database is down"):
        committer.submit(rec("a"))
    assert committer.submit(rec("b")) is True


def test_max_batch_splits_flushes():
    store = FakeStore(delay=0.01)
    committer = GroupCommitter(store.flush, guard=nullcontext, max_batch=3)
    with ThreadPoolExecutor(12) as pool:
        assert all(pool.map(lambda i: committer.submit(rec(f"t{i}")), range(40)))
    assert max(store.batches) <= 3
    assert sum(store.batches) == 40


def test_by_organization():
    other = uuid.uuid4()
    assert by_organization([rec("a"), rec("b", other), rec("c")]) == {ORG: [0, 2], other: [1]}


@pytest.mark.parametrize("lanes", [2, 4])
def test_concurrent_leaders_lose_nothing(lanes):
    store = FakeStore(delay=0.001)
    store.lock = threading.Lock()
    committer = GroupCommitter(store.flush, guard=nullcontext, max_concurrent=lanes, max_batch=5)
    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(lambda i: committer.submit(rec(f"t{i % 250}")), range(500)))
    assert results.count(True) == 250
    assert sum(store.batches) == 500
    assert committer._active == 0
    assert committer._pending == []
