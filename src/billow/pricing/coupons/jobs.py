"""Coupon work the hourly scheduler runs."""

from __future__ import annotations

from datetime import datetime

from billow.db.context import Ctx
from billow.jobs.scheduler import TickTask
from billow.pricing.coupons.service import terminate_expired_coupons


def _terminate_expired(ctx: Ctx, hour: datetime) -> None:
    terminate_expired_coupons(ctx, hour)


def coupon_tick_tasks() -> list[TickTask]:
    return [TickTask("coupons.terminate_expired", _terminate_expired)]
