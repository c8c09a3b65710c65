"""A worker process for the SIGKILL test (tests/billing/test_exactly_once.py), not a test.

    python -m tests.billing.kill_worker DATABASE_URL CLOCK_ISO LEASE_SECONDS STOP_AT MARKER

Runs the jobs worker of a real runtime on ``DATABASE_URL`` with a manual clock at ``CLOCK_ISO``
until the queue is empty. With ``STOP_AT`` > 0, the ``STOP_AT``-th invoice this process generates
stops after its fees, taxes and totals were computed and flushed (inside the job's transaction,
before it is settled and committed): the process writes ``MARKER`` and sleeps until the test kills
it with SIGKILL.

The worker claims two jobs at a time (``worker_batch_size``, ``job_group_size``); billing jobs
claimed together run as one group, in one transaction (``JobKind.prepare``), so the invoices of
the groups before the stop are committed and the stopped one's group is not.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from billow.billing import invoicing
from billow.core.clock import ManualClock
from billow.runtime import build_runtime
from billow.settings import Settings


def main(argv: list[str]) -> None:
    url, clock_iso, lease, stop_at, marker = argv
    clock = ManualClock(datetime.fromisoformat(clock_iso))
    settings = Settings(
        database_url=url,
        clock="manual",
        clock_start=clock.now(),
        job_lease_seconds=int(lease),
        worker_batch_size=2,
        job_group_size=2,
    )
    runtime = build_runtime(settings, migrate=False, worker_id=f"kill-worker-{stop_at}")
    runtime.clock = runtime.scheduler.clock = runtime.worker.clock = clock
    real = invoicing.settle_generated
    generated = {"n": 0}

    def stopping(ctx: Any, invoice: Any, parties: Any) -> None:
        generated["n"] += 1
        if generated["n"] == int(stop_at):
            ctx.session.flush()
            Path(marker).write_text(str(invoice.id))
            while True:  # until SIGKILL
                time.sleep(0.05)
        real(ctx, invoice, parties)

    invoicing.settle_generated = stopping  # type: ignore[assignment]
    runtime.worker.drain()
    runtime.close()


if __name__ == "__main__":
    main(sys.argv[1:])
