"""The wallets package's job kinds and hourly tick tasks (registered in ``billow.runtime``).

Tick order (each task its own transaction): expirations first (an expired wallet tops up no
more), then interval top-ups, then the daily ongoing-balance refreshes (which evaluate thresholds).
"""

from __future__ import annotations

from datetime import datetime

from billow.billing.fees.engine import FeeEngine, build_fee_engine
from billow.db.context import Ctx
from billow.jobs.registry import JobKind
from billow.jobs.scheduler import TickTask
from billow.wallets.balances import refresh_handler
from billow.wallets.expiration import TERMINATE_EXPIRED_JOB, enqueue_expired, terminate_expired_handler
from billow.wallets.ledger import REFRESH_JOB
from billow.wallets.recurring import INTERVAL_TOP_UP_JOB, enqueue_interval_top_ups, interval_top_up_handler
from billow.wallets.triggers import enqueue_daily_refreshes


def wallet_job_kinds(engine: FeeEngine | None = None) -> list[JobKind]:
    engine = engine or build_fee_engine()
    return [
        JobKind(REFRESH_JOB, refresh_handler(engine)),
        JobKind(INTERVAL_TOP_UP_JOB, interval_top_up_handler()),
        JobKind(TERMINATE_EXPIRED_JOB, terminate_expired_handler()),
    ]


def _expire(ctx: Ctx, hour: datetime) -> None:
    enqueue_expired(ctx, hour)


def _interval(ctx: Ctx, hour: datetime) -> None:
    enqueue_interval_top_ups(ctx, hour)


def _refresh(ctx: Ctx, hour: datetime) -> None:
    enqueue_daily_refreshes(ctx, hour)


def wallet_tick_tasks() -> list[TickTask]:
    return [
        TickTask("wallets.terminate_expired", _expire),
        TickTask("wallets.interval_top_ups", _interval),
        TickTask("wallets.refresh_ongoing_balances", _refresh),
    ]
