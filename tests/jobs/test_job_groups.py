"""Jobs of a kind that declares ``prepare`` run in groups: the consecutive claimed jobs of one
organization, in one transaction, after one bulk read (``Worker._run_group``)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from billow.db.context import Ctx
from billow.db.prefetch import MISSING, Prefetched, known_absent, memo, take
from billow.jobs.models import Job
from billow.jobs.queue import NewJob, enqueue, enqueue_many
from billow.jobs.registry import JobKind, JobRegistry, Reschedule
from billow.jobs.worker import Worker

ORG_A = uuid.UUID("00000000-0000-0000-0000-00000000000a")
ORG_B = uuid.UUID("00000000-0000-0000-0000-00000000000b")


def _worker(runtime, kinds):
    return Worker(runtime.db, runtime.clock, runtime.settings, JobRegistry(kinds), worker_id="w1")


def _enqueue(runtime, kind, payload, organization_id=None):
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, organization_id)
        enqueue(ctx, kind, payload)


def _jobs(runtime, kind):
    with runtime.db.session() as session:
        return session.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)).all()


class Recorder:
    """A grouped kind: ``prepare`` prefetches each payload's ``n``; the handler takes it and
    enqueues a ``mark`` job (a write in the group's transaction); ``fail`` raises after that."""

    def __init__(self, *, writes: bool = True) -> None:
        self.writes = writes
        self.prepared: list[list[int]] = []
        self.seen: list[tuple[int, Any, int]] = []

    def prepare(self, ctx: Ctx, payloads: Any) -> None:
        assert ctx.prefetched is not None
        self.prepared.append([p["n"] for p in payloads])
        for p in payloads:
            ctx.prefetched.put("n", p["n"], p["n"] * 10)

    def handle(self, ctx: Ctx, payload: dict[str, Any]) -> Any:
        self.seen.append((payload["n"], take(ctx, "n", payload["n"]), id(ctx.session)))
        if self.writes:
            enqueue(ctx, "mark", {"n": payload["n"]})
        if payload.get("fail"):
            raise RuntimeError(f"job {payload['n']} fails")
        if payload.get("later"):
            return Reschedule(60, "later")
        return None

    def kind(self) -> JobKind:
        return JobKind("grouped", self.handle, prepare=self.prepare)


def _marks(runtime) -> list[int]:
    return sorted(j.payload["n"] for j in _jobs(runtime, "mark"))


def test_consecutive_jobs_run_in_one_transaction_after_one_bulk_read(runtime):
    rec = Recorder()
    for n in (1, 2, 3):
        _enqueue(runtime, "grouped", {"n": n}, ORG_A)
    assert _worker(runtime, [rec.kind()]).run_batch() == 3
    assert rec.prepared == [[1, 2, 3]]
    assert [(n, value) for n, value, _ in rec.seen] == [(1, 10), (2, 20), (3, 30)]
    assert len({session for _, _, session in rec.seen}) == 1
    assert [j.status for j in _jobs(runtime, "grouped")] == ["succeeded"] * 3
    assert _marks(runtime) == [1, 2, 3]


def test_a_failing_job_rolls_its_group_back_and_every_job_runs_again_alone(runtime):
    rec = Recorder()
    _enqueue(runtime, "grouped", {"n": 1}, ORG_A)
    _enqueue(runtime, "grouped", {"n": 2, "fail": True}, ORG_A)
    _enqueue(runtime, "grouped", {"n": 3}, ORG_A)
    assert _worker(runtime, [rec.kind()]).run_batch() == 3
    assert rec.prepared == [[1, 2, 3]]  # one group; the runs alone read nothing in bulk
    # In the group: 1 and 2 ran (2 failed); alone: 1, 2 (fails again), 3 — without prefetch.
    assert [(n, value) for n, value, _ in rec.seen] == [
        (1, 10),
        (2, 20),
        (1, MISSING),
        (2, MISSING),
        (3, MISSING),
    ]
    jobs = _jobs(runtime, "grouped")
    assert [(j.status, j.attempts) for j in jobs] == [("succeeded", 1), ("pending", 1), ("succeeded", 1)]
    assert "RuntimeError: job 2 fails" in (jobs[1].last_error or "")
    # Nothing of the rolled-back group nor of the failed job remains; nothing twice.
    assert _marks(runtime) == [1, 3]


def test_a_lone_failing_job_fails_once(runtime):
    rec = Recorder()
    _enqueue(runtime, "grouped", {"n": 1, "fail": True}, ORG_A)
    assert _worker(runtime, [rec.kind()]).run_batch() == 1
    assert [n for n, _, _ in rec.seen] == [1]
    [job] = _jobs(runtime, "grouped")
    assert (job.status, job.attempts) == ("pending", 1)
    assert _marks(runtime) == []


def test_groups_break_at_another_kind_or_organization(runtime):
    rec = Recorder()
    other: list[int] = []
    _enqueue(runtime, "grouped", {"n": 1}, ORG_A)
    _enqueue(runtime, "grouped", {"n": 2}, ORG_A)
    _enqueue(runtime, "grouped", {"n": 3}, ORG_B)
    _enqueue(runtime, "other", {"n": 4}, ORG_B)
    _enqueue(runtime, "grouped", {"n": 5}, ORG_B)
    kinds = [rec.kind(), JobKind("other", lambda ctx, p: other.append(p["n"]))]
    assert _worker(runtime, kinds).run_batch() == 5
    assert rec.prepared == [[1, 2], [3], [5]]
    assert other == [4]
    assert {j.status for j in _jobs(runtime, "grouped")} == {"succeeded"}


def test_a_job_of_a_group_may_reschedule_itself(runtime):
    rec = Recorder()
    _enqueue(runtime, "grouped", {"n": 1}, ORG_A)
    _enqueue(runtime, "grouped", {"n": 2, "later": True}, ORG_A)
    assert _worker(runtime, [rec.kind()]).run_batch() == 2
    jobs = _jobs(runtime, "grouped")
    assert [(j.status, j.last_error) for j in jobs] == [("succeeded", None), ("pending", "later")]
    assert jobs[1].run_at == runtime.clock.now() + timedelta(seconds=60)
    assert _marks(runtime) == [1, 2]


def test_prefetched_values_are_taken_once_and_memos_kept_for_the_group():
    prefetched = Prefetched()
    ctx = Ctx(session=None, clock=None, settings=None, prefetched=prefetched)  # type: ignore[arg-type]
    prefetched.put("customer", 1, "one")
    prefetched.put_flags("coupons", [1, 2], {2})
    assert take(ctx, "customer", 1) == "one"
    assert take(ctx, "customer", 1) is MISSING  # a second read goes to the database
    assert known_absent(ctx, "coupons", 1) is True
    assert known_absent(ctx, "coupons", 1) is False  # taken: not known any more
    assert known_absent(ctx, "coupons", 2) is False  # has some
    loads: list[int] = []
    assert memo(ctx, "endpoints", "org", lambda: loads.append(1) or ["e"]) == ["e"]
    assert memo(ctx, "endpoints", "org", lambda: loads.append(1) or ["f"]) == ["e"]
    assert loads == [1]
    bare = Ctx(session=None, clock=None, settings=None)  # type: ignore[arg-type]
    assert take(bare, "customer", 1) is MISSING
    assert known_absent(bare, "coupons", 1) is False
    assert memo(bare, "endpoints", "org", lambda: ["g"]) == ["g"]


def test_a_batch_ending_with_a_grouped_kind_claims_more_of_it_up_to_a_group(runtime):
    rec = Recorder(writes=False)
    settings = runtime.settings.model_copy(update={"worker_batch_size": 3, "job_group_size": 5})
    worker = Worker(runtime.db, runtime.clock, settings, JobRegistry([rec.kind()]), worker_id="w1")
    for n in (1, 2):
        _enqueue(runtime, "grouped", {"n": n}, ORG_A)
    _enqueue(runtime, "grouped", {"n": 3}, ORG_B)
    for n in (4, 5, 6, 7, 8, 9):
        _enqueue(runtime, "grouped", {"n": n}, ORG_B)
    # The batch (1, 2 of A; 3 of B) ends with one job of B's group: four more of B join it.
    assert worker.run_batch() == 7
    assert rec.prepared == [[1, 2], [3, 4, 5, 6, 7]]
    assert worker.run_batch() == 2
    assert rec.prepared[2:] == [[8, 9]]
    assert {j.status for j in _jobs(runtime, "grouped")} == {"succeeded"}


def test_a_batch_ending_with_another_kind_claims_nothing_more(runtime):
    rec = Recorder(writes=False)
    other: list[int] = []
    settings = runtime.settings.model_copy(update={"worker_batch_size": 2, "job_group_size": 5})
    kinds = [rec.kind(), JobKind("other", lambda ctx, p: other.append(p["n"]))]
    worker = Worker(runtime.db, runtime.clock, settings, JobRegistry(kinds), worker_id="w1")
    _enqueue(runtime, "grouped", {"n": 1}, ORG_A)
    _enqueue(runtime, "other", {"n": 2}, ORG_A)
    _enqueue(runtime, "grouped", {"n": 3}, ORG_A)
    assert worker.run_batch() == 2
    assert (rec.prepared, other) == ([[1]], [2])
    assert worker.run_batch() == 1
    assert rec.prepared == [[1], [3]]


def test_groups_hold_at_most_a_group_size_of_jobs(runtime):
    rec = Recorder(writes=False)
    settings = runtime.settings.model_copy(update={"worker_batch_size": 5, "job_group_size": 2})
    worker = Worker(runtime.db, runtime.clock, settings, JobRegistry([rec.kind()]), worker_id="w1")
    for n in range(1, 6):
        _enqueue(runtime, "grouped", {"n": n}, ORG_A)
    assert worker.run_batch() == 5
    assert rec.prepared == [[1, 2], [3, 4], [5]]


def test_enqueue_many_inserts_in_order_and_skips_existing_unique_keys(runtime):
    _enqueue(runtime, "grouped", {"n": 0}, ORG_A)  # no unique key
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, ORG_A)
        enqueue(ctx, "grouped", {"n": -1}, unique_key="k:7")
    jobs = [NewJob("grouped", {"n": n}, f"k:{n}", ORG_B if n % 2 else ORG_A) for n in range(1, 1101)]
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings)
        assert enqueue_many(ctx, jobs) == 1099  # k:7 exists; three pages of up to 500
        assert enqueue_many(ctx, jobs[:10]) == 0  # a second tick enqueues nothing
    stored = _jobs(runtime, "grouped")
    assert [j.payload["n"] for j in stored] == [0, -1, *[n for n in range(1, 1101) if n != 7]]
    assert {(j.payload["n"] % 2, j.organization_id) for j in stored[2:]} == {(1, ORG_B), (0, ORG_A)}
    assert {(j.status, j.attempts, j.max_attempts) for j in stored} == {
        ("pending", 0, runtime.settings.job_max_attempts)
    }
