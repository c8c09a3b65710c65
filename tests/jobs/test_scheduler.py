"""The scheduler ticks every hour boundary once, in order, and catches up missed hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.jobs.scheduler import Scheduler, TickTask, hour_boundaries


def test_hour_boundaries_are_exclusive_of_start_inclusive_of_end():
    start = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    assert list(hour_boundaries(start, datetime(2024, 1, 1, 3, 0, tzinfo=UTC))) == [
        datetime(2024, 1, 1, h, tzinfo=UTC) for h in (1, 2, 3)
    ]
    assert (
        list(hour_boundaries(datetime(2024, 1, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 1, 59, tzinfo=UTC)))
        == []
    )


def test_tick_twice_for_the_same_hour_enqueues_once(runtime):
    def task(ctx: Ctx, hour: datetime) -> None:
        enqueue(ctx, "noop", {}, unique_key=f"noop:{hour.isoformat()}")

    scheduler = Scheduler(runtime.db, runtime.clock, runtime.settings, [TickTask("noop", task)])
    hour = datetime(2024, 1, 1, 5, tzinfo=UTC)
    scheduler.run_tick(hour)
    scheduler.run_tick(hour)
    from sqlalchemy import func, select

    from billow.jobs.models import Job

    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
    assert scheduler.last_tick() == hour


def test_catch_up_runs_every_missed_hour_in_order(runtime):
    seen: list[datetime] = []
    scheduler = Scheduler(
        runtime.db, runtime.clock, runtime.settings, [TickTask("rec", lambda ctx, hour: seen.append(hour))]
    )
    t0 = runtime.clock.now()
    assert scheduler.catch_up(t0) == 1
    assert seen == [t0]
    assert scheduler.catch_up(t0 + timedelta(hours=3, minutes=20)) == 3
    assert seen == [t0 + timedelta(hours=h) for h in range(4)]
    assert scheduler.catch_up(t0 + timedelta(hours=3, minutes=40)) == 0
