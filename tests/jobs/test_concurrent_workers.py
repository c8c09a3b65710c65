"""Two workers on PostgreSQL never run the same job (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.jobs.registry import JobKind, JobRegistry
from billow.jobs.worker import Worker


@pytest.mark.postgres_only
def test_two_workers_never_run_the_same_job(runtime):
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def handler(ctx: Ctx, payload: dict[str, Any]) -> None:
        with lock:
            runs[payload["n"]] += 1

    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings)
        for n in range(400):
            enqueue(ctx, "count", {"n": n})

    workers = [
        Worker(
            runtime.db,
            runtime.clock,
            runtime.settings,
            JobRegistry([JobKind("count", handler)]),
            worker_id=f"w{i}",
        )
        for i in range(2)
    ]
    claimed_by: list[int] = [0, 0]

    def run(i: int) -> None:
        while True:
            n = workers[i].run_batch(limit=5)
            if n == 0:
                return
            claimed_by[i] += n

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(runs) == 400
    assert set(runs.values()) == {1}
    assert sum(claimed_by) == 400
    assert all(c > 0 for c in claimed_by)
