"""Moving the manual clock: tick every hour boundary crossed, in order, and drain the queue."""

from __future__ import annotations

from datetime import datetime

from billow.core.clock import ensure_utc
from billow.core.errors import NotFound, ValidationFailed
from billow.jobs.scheduler import hour_boundaries
from billow.runtime import Runtime


def current_time(runtime: Runtime) -> datetime:
    if runtime.manual_clock is None:
        raise NotFound("clock")
    return runtime.clock.now()


def advance_clock(runtime: Runtime, target: datetime) -> datetime:
    """Move forward to ``target``; posting the current time again only drains the queue."""
    clock = runtime.manual_clock
    if clock is None:
        raise NotFound("clock")
    target = ensure_utc(target)
    with runtime.clock_lock:
        current = clock.now()
        if target < current:
            raise ValidationFailed({"now": ["cannot_move_backwards"]})
        runtime.worker.drain()
        for hour in hour_boundaries(current, target):
            clock.set(hour)
            runtime.persist_clock()
            runtime.scheduler.run_tick(hour)
            runtime.worker.drain()
        clock.set(target)
        runtime.persist_clock()
        runtime.worker.drain()
        return clock.now()
