"""The scheduler: at every hour boundary, list what falls due and enqueue idempotent jobs.

A tick is a function of the hour only. Running it twice, or late, enqueues each piece of work
once, because every task enqueues with a unique key derived from what it schedules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select

from billow.core.clock import Clock
from billow.core.hooks import Hooks
from billow.db.context import Ctx
from billow.db.engine import Database
from billow.jobs.models import SchedulerState
from billow.settings import Settings

log = structlog.get_logger("billow.scheduler")

HOUR = timedelta(hours=1)
STATE_NAME = "hourly"
# After a long outage, catch up at most this many missed hours (the rest are skipped).
MAX_CATCH_UP_HOURS = 24 * 45


@dataclass(frozen=True)
class TickTask:
    name: str
    run: Callable[[Ctx, datetime], None]


def floor_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def hour_boundaries(after: datetime, until: datetime) -> Iterator[datetime]:
    """Hour boundaries h with ``after < h <= until``, in order."""
    h = floor_hour(after) + HOUR
    while h <= until:
        yield h
        h += HOUR


class Scheduler:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        tasks: Iterable[TickTask],
        *,
        hooks: Hooks | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.tasks = list(tasks)
        self.hooks = hooks or Hooks()

    def run_tick(self, hour: datetime) -> None:
        """Run every task for this hour boundary, each in its own transaction."""
        for task in self.tasks:
            with self.db.session() as session:
                ctx = Ctx(session=session, clock=self.clock, settings=self.settings, hooks=self.hooks)
                task.run(ctx, hour)
        self.record_tick(hour)

    def record_tick(self, hour: datetime) -> None:
        """Remember ``hour`` as ticked (the test clock also records the hours it skipped over)."""
        with self.db.session() as session:
            state = session.get(SchedulerState, STATE_NAME)
            if state is None:
                session.add(SchedulerState(name=STATE_NAME, last_tick_at=hour))
            elif state.last_tick_at < hour:
                state.last_tick_at = hour

    def last_tick(self) -> datetime | None:
        with self.db.session() as session:
            return session.scalar(
                select(SchedulerState.last_tick_at).where(SchedulerState.name == STATE_NAME)
            )

    def catch_up(self, now: datetime | None = None) -> int:
        """Tick every hour boundary since the last recorded tick up to ``now``. Returns ticks run."""
        now = now or self.clock.now()
        last = self.last_tick()
        if last is None:
            self.run_tick(floor_hour(now))
            return 1
        start = max(last, floor_hour(now) - HOUR * MAX_CATCH_UP_HOURS)
        count = 0
        for hour in hour_boundaries(start, now):
            self.run_tick(hour)
            count += 1
        return count
