"""The outbox worker: retries with backoff, dead after N tries, lease recovery, idempotent enqueue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from billow.db.context import Ctx
from billow.jobs.models import Job
from billow.jobs.queue import claim, enqueue
from billow.jobs.registry import JobKind, JobRegistry, Reschedule
from billow.jobs.worker import Worker


def _worker(runtime, kinds, worker_id="w1"):
    return Worker(runtime.db, runtime.clock, runtime.settings, JobRegistry(kinds), worker_id=worker_id)


def _enqueue(runtime, kind, payload=None, **kw):
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings)
        return enqueue(ctx, kind, payload or {}, **kw)


def _jobs(runtime):
    with runtime.db.session() as session:
        return session.scalars(select(Job).order_by(Job.id)).all()


def test_handler_failing_twice_then_succeeding_runs_three_times(runtime):
    calls: list[int] = []

    def flaky(ctx: Ctx, payload: dict[str, Any]) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("boom")

    worker = _worker(runtime, [JobKind("flaky", flaky)])
    _enqueue(runtime, "flaky", max_attempts=5)
    assert worker.drain() == 1
    job = _jobs(runtime)[0]
    assert (job.status, job.attempts) == ("pending", 1)
    assert "RuntimeError: boom" in (job.last_error or "")
    # Backoff: not due until the clock moves past run_at.
    assert job.run_at == runtime.clock.now() + timedelta(seconds=2)
    runtime.clock.set(job.run_at)
    worker.drain()
    job = _jobs(runtime)[0]
    assert (job.status, job.attempts) == ("pending", 2)
    runtime.clock.set(job.run_at)
    worker.drain()
    job = _jobs(runtime)[0]
    assert (job.status, job.attempts, len(calls)) == ("succeeded", 3, 3)
    assert job.last_error is None


def test_job_is_dead_after_max_attempts(runtime):
    def always_fails(ctx: Ctx, payload: dict[str, Any]) -> None:
        raise ValueError("nope")

    worker = _worker(runtime, [JobKind("bad", always_fails)])
    _enqueue(runtime, "bad", max_attempts=2)
    worker.drain()
    runtime.clock.set(runtime.clock.now() + timedelta(hours=2))
    worker.drain()
    job = _jobs(runtime)[0]
    assert (job.status, job.attempts) == ("dead", 2)
    runtime.clock.set(runtime.clock.now() + timedelta(days=2))
    assert worker.drain() == 0


def test_handler_work_is_rolled_back_on_failure(runtime, org):
    from billow.webhooks.models import WebhookEndpoint

    def writes_then_fails(ctx: Ctx, payload: dict[str, Any]) -> None:
        now = ctx.now()
        ctx.session.add(
            WebhookEndpoint(
                organization_id=org.id, webhook_url="https://x.test", created_at=now, updated_at=now
            )
        )
        ctx.session.flush()
        raise RuntimeError("after write")

    worker = _worker(runtime, [JobKind("w", writes_then_fails)])
    _enqueue(runtime, "w", max_attempts=1)
    worker.drain()
    with runtime.db.session() as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


def test_reschedule_commits_work_and_runs_again_later(runtime):
    seen: list[int] = []

    def twice(ctx: Ctx, payload: dict[str, Any]) -> Reschedule | None:
        seen.append(1)
        return Reschedule(60) if len(seen) == 1 else None

    worker = _worker(runtime, [JobKind("twice", twice)])
    _enqueue(runtime, "twice")
    worker.drain()
    assert _jobs(runtime)[0].status == "pending"
    runtime.clock.set(runtime.clock.now() + timedelta(seconds=59))
    assert worker.drain() == 0
    runtime.clock.set(runtime.clock.now() + timedelta(seconds=1))
    assert worker.drain() == 1
    assert _jobs(runtime)[0].status == "succeeded"


def test_unique_key_enqueues_once(runtime):
    assert _enqueue(runtime, "k", unique_key="invoice:sub-1:2024-01") is True
    assert _enqueue(runtime, "k", unique_key="invoice:sub-1:2024-01") is False
    assert _enqueue(runtime, "k", unique_key="invoice:sub-1:2024-02") is True
    assert len(_jobs(runtime)) == 2


def test_job_of_a_dead_worker_is_recovered_after_its_lease(runtime):
    ran: list[str] = []

    def handler(ctx: Ctx, payload: dict[str, Any]) -> None:
        ran.append(payload["n"])

    _enqueue(runtime, "h", {"n": "a"})
    # A worker claims the job, then dies without finishing it.
    with runtime.db.session() as session:
        claimed = claim(
            session, worker_id="dead-worker", now=runtime.clock.now(), lease=timedelta(seconds=300), limit=10
        )
    assert len(claimed) == 1
    survivor = _worker(runtime, [JobKind("h", handler)], worker_id="survivor")
    assert survivor.drain() == 0  # still leased
    runtime.clock.set(runtime.clock.now() + timedelta(seconds=301))
    assert survivor.drain() == 1
    job = _jobs(runtime)[0]
    assert (job.status, job.attempts, job.locked_by) == ("succeeded", 2, "survivor")
    assert ran == ["a"]


def test_unknown_kind_goes_dead(runtime):
    worker = _worker(runtime, [])
    _enqueue(runtime, "who-knows")
    worker.drain()
    job = _jobs(runtime)[0]
    assert job.status == "dead"
    assert job.last_error == "no handler for who-knows"
