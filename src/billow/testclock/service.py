"""Moving the manual clock: tick every hour boundary crossed, in order, and drain the queue.

Hours at which nothing can fall due are skipped (``testclock.horizon``): the clock stops only at
the hour boundaries where a tick or the drain after it could do something, and there runs the
whole tick, exactly as ticking hour by hour would. ``hourly=True`` ticks every hour (the reference
the skipping is tested against).
"""

from __future__ import annotations

from datetime import datetime

from billow.core.clock import ManualClock, ensure_utc
from billow.core.errors import NotFound, ValidationFailed
from billow.jobs.scheduler import HOUR, floor_hour, hour_boundaries
from billow.runtime import Runtime
from billow.testclock.horizon import build_bounds, next_due_hour


def current_time(runtime: Runtime) -> datetime:
    if runtime.manual_clock is None:
        raise NotFound("clock")
    return runtime.clock.now()


def _tick(runtime: Runtime, clock: ManualClock, hour: datetime) -> None:
    clock.set(hour)
    runtime.persist_clock()
    runtime.scheduler.run_tick(hour)
    runtime.worker.drain()


def advance_clock(runtime: Runtime, target: datetime, *, hourly: bool = False) -> datetime:
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
        if hourly:
            for hour in hour_boundaries(current, target):
                _tick(runtime, clock, hour)
        else:
            _skip_idle_hours(runtime, clock, current, target)
        clock.set(target)
        runtime.persist_clock()
        runtime.worker.drain()
        return clock.now()


def _skip_idle_hours(runtime: Runtime, clock: ManualClock, current: datetime, target: datetime) -> None:
    scheduler = runtime.scheduler
    bounds = build_bounds()
    after = current
    while True:
        with runtime.db.session() as session:
            hour = next_due_hour(session, scheduler.tasks, bounds, after, runtime.settings)
        if hour is None or hour > target:
            break
        _tick(runtime, clock, hour)
        after = hour
    last = floor_hour(target)
    if last >= floor_hour(current) + HOUR:
        scheduler.record_tick(last)  # as if the skipped hours had been ticked
