"""The worker: claims due jobs, runs each handler in its own transaction, retries with backoff."""

from __future__ import annotations

import os
import socket
import threading
import traceback
import uuid
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from billow.core.clock import Clock
from billow.core.hooks import Hooks
from billow.db.context import Ctx
from billow.db.copy_rows import flush_before_commit
from billow.db.engine import Database
from billow.db.prefetch import Prefetched
from billow.jobs import queue
from billow.jobs.registry import JobRegistry, Reschedule
from billow.settings import Settings

log = structlog.get_logger("billow.worker")


class Worker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        registry: JobRegistry,
        *,
        worker_id: str | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.registry = registry
        self.hooks = hooks or Hooks()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._drain_lock = threading.Lock()

    def run_batch(self, limit: int | None = None) -> int:
        """Claim one batch of due jobs and run them. Returns how many were claimed."""
        now = self.clock.now()
        lease = timedelta(seconds=self.settings.job_lease_seconds)
        with self.db.session() as session:
            jobs = queue.claim(
                session,
                worker_id=self.worker_id,
                now=now,
                lease=lease,
                limit=limit or self.settings.worker_batch_size,
            )
            # A batch that ends with jobs of a kind that runs in groups claims more of the same
            # kind and organization, up to a group's size: the group's bulk reads and commit
            # then serve that many jobs.
            trailing = self._trailing_group(jobs)
            if limit is None and trailing and len(jobs) == self.settings.worker_batch_size:
                more = self.settings.job_group_size - trailing
                if more > 0:
                    jobs += queue.claim(
                        session, worker_id=self.worker_id, now=now, lease=lease, limit=more, like=jobs[-1]
                    )
        # Consecutive jobs of a kind that shares reads (``JobKind.shares_reads``) share one cache
        # of catalog snapshots; any other job, or a failure, starts a new one. Reads can thus be
        # as old as the start of the batch (a few seconds), never older than the jobs before.
        shared: dict[Any, Any] = {}
        shared_kind: str | None = None
        for group in self._groups(jobs):
            kind = group[0].kind
            cache: dict[Any, Any] | None = None
            if not self.registry.shares_reads(kind):
                shared_kind = None
            else:
                if kind != shared_kind:
                    shared, shared_kind = {}, kind
                cache = shared
            if self.registry.preparer(kind) is not None:
                ok = self._run_group(group, cache)
            else:
                ok = self._run(group[0], cache)
            if not ok:
                shared_kind = None
        return len(jobs)

    def _trailing_group(self, jobs: list[queue.ClaimedJob]) -> int:
        """How many jobs at the end of ``jobs`` would form one group (0: the last job's kind
        does not run in groups)."""
        groups = self._groups(jobs)
        if not groups or self.registry.preparer(groups[-1][0].kind) is None:
            return 0
        return len(groups[-1])

    def _groups(self, jobs: list[queue.ClaimedJob]) -> list[list[queue.ClaimedJob]]:
        """Consecutive jobs of one kind that runs in groups (``JobKind.prepare``) and of one
        organization form a group (of at most ``job_group_size``); any other job is alone. A job
        past its last attempt is alone (it is marked dead, not run)."""
        groups: list[list[queue.ClaimedJob]] = []
        for job in jobs:
            joins = (
                groups
                and len(groups[-1]) < self.settings.job_group_size
                and self.registry.preparer(job.kind) is not None
                and job.attempts <= job.max_attempts
                and groups[-1][-1].kind == job.kind
                and groups[-1][-1].organization_id == job.organization_id
                and groups[-1][-1].attempts <= groups[-1][-1].max_attempts
            )
            if joins:
                groups[-1].append(job)
            else:
                groups.append([job])
        return groups

    def drain(self, max_batches: int = 1_000_000) -> int:
        """Run jobs until none is due at the clock's current time."""
        total = 0
        with self._drain_lock:
            for _ in range(max_batches):
                n = self.run_batch()
                if n == 0:
                    break
                total += n
        return total

    def _run_group(self, jobs: list[queue.ClaimedJob], shared_reads: dict[Any, Any] | None) -> bool:
        """Run a group of jobs in one transaction after their kind's bulk reads; whether all
        succeeded. Any failure rolls the whole group back, and each job then runs alone
        (``_run``), so a failing job fails (and retries) on its own."""
        first = jobs[0]
        if first.attempts > first.max_attempts:
            return self._run(first, shared_reads)
        handler = self.registry.handler(first.kind)
        prepare = self.registry.preparer(first.kind)
        if handler is None or prepare is None:
            return self._run(first, shared_reads)
        prefetched = Prefetched()
        try:
            with self.db.session() as session:

                def job_ctx() -> Ctx:
                    return self._ctx(session, first, shared_reads, prefetched)

                prepare(job_ctx(), [job.payload for job in jobs])
                succeeded: list[int] = []
                for job in jobs:
                    prefetched.writes_deferred = False
                    result = handler(job_ctx(), job.payload)
                    # Each job's writes reach the database before the next job reads, unless
                    # the job said they may wait (``billow.db.prefetch.defer_writes``).
                    if not prefetched.writes_deferred:
                        session.flush()
                    if isinstance(result, Reschedule):
                        run_at = self.clock.now() + timedelta(seconds=result.after_seconds)
                        queue.mark_rescheduled(
                            session, job.id, self.worker_id, run_at, result.reason, dead=False
                        )
                    else:
                        succeeded.append(job.id)
                prefetched.run_before_commit()
                # What the last jobs deferred, before the group is marked done: the last
                # flush before the commit (many new rows go by COPY on PostgreSQL).
                flush_before_commit(session)
                queue.mark_all_succeeded(session, succeeded, self.worker_id, self.clock.now())
            return True
        except Exception as exc:
            # A job that deferred its writes may have failed for a conflict only its run alone
            # handles (a period billed already): it runs again alone, as a group's jobs do.
            if len(jobs) == 1 and not prefetched.any_writes_deferred:
                return self._failed(first, exc)
            log.info(
                "job_group_failed",
                kind=first.kind,
                jobs=len(jobs),
                error="".join(traceback.format_exception_only(type(exc), exc)).strip(),
            )
        ok = True
        for job in jobs:
            ok = self._run(job, {} if shared_reads is not None else None) and ok
        return ok

    def _run(self, job: queue.ClaimedJob, shared_reads: dict[Any, Any] | None = None) -> bool:
        """Run one job in its own transaction; whether its handler succeeded."""
        now = self.clock.now()
        if job.attempts > job.max_attempts:
            with self.db.session() as session:
                queue.mark_rescheduled(
                    session, job.id, self.worker_id, now, "lease expired after the last attempt", dead=True
                )
            log.warning("job_dead", job_id=job.id, kind=job.kind, reason="lease expired")
            return False
        handler = self.registry.handler(job.kind)
        if handler is None:
            with self.db.session() as session:
                queue.mark_rescheduled(
                    session, job.id, self.worker_id, now, f"no handler for {job.kind}", dead=True
                )
            log.error("job_unknown_kind", job_id=job.id, kind=job.kind)
            return False
        try:
            with self.db.session() as session:
                result = handler(self._ctx(session, job, shared_reads), job.payload)
                if isinstance(result, Reschedule):
                    run_at = self.clock.now() + timedelta(seconds=result.after_seconds)
                    queue.mark_rescheduled(session, job.id, self.worker_id, run_at, result.reason, dead=False)
                else:
                    queue.mark_succeeded(session, job.id, self.worker_id, self.clock.now())
            return True
        except Exception as exc:
            return self._failed(job, exc)

    def _ctx(
        self,
        session: Session,
        job: queue.ClaimedJob,
        shared_reads: dict[Any, Any] | None,
        prefetched: Prefetched | None = None,
    ) -> Ctx:
        """The unit of work of ``job`` (of every job of a group when ``prefetched`` is given)."""
        return Ctx(
            session=session,
            clock=self.clock,
            settings=self.settings,
            organization_id=job.organization_id,
            hooks=self.hooks,
            shared_reads=shared_reads,
            prefetched=prefetched,
        )

    def _failed(self, job: queue.ClaimedJob, exc: Exception) -> bool:
        """Record a failed attempt (its transaction rolled back): retry later, or dead."""
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        dead = job.attempts >= job.max_attempts
        run_at = self.clock.now() + timedelta(seconds=queue.backoff_seconds(job.attempts))
        with self.db.session() as session:
            queue.mark_rescheduled(session, job.id, self.worker_id, run_at, error[:4000], dead=dead)
        log.warning("job_failed", job_id=job.id, kind=job.kind, attempt=job.attempts, dead=dead, error=error)
        return False
