"""What the hourly scheduler checks for subscriptions, and the subscriptions' job kinds.

Each tick task is idempotent: it performs a transition a second run no longer finds due
(activation, ``ending_at`` termination, trial end) or enqueues work under a unique key
(termination alerts). Ticks use the hour boundary as their instant.
"""

from __future__ import annotations

from datetime import datetime

from billow.db.context import Ctx
from billow.jobs.registry import JobKind
from billow.jobs.scheduler import TickTask
from billow.subscriptions.activation import activate_due_subscriptions
from billow.subscriptions.alerts import (
    TERMINATION_ALERT_JOB,
    queue_termination_alerts,
    send_termination_alert,
)
from billow.subscriptions.terminate import terminate_ended_subscriptions
from billow.subscriptions.trials import end_trials


def _activate(ctx: Ctx, hour: datetime) -> None:
    activate_due_subscriptions(ctx, hour)


def _terminate_ended(ctx: Ctx, hour: datetime) -> None:
    terminate_ended_subscriptions(ctx, hour)


def _end_trials(ctx: Ctx, hour: datetime) -> None:
    end_trials(ctx, hour)


def _termination_alerts(ctx: Ctx, hour: datetime) -> None:
    queue_termination_alerts(ctx, hour)


def subscription_tick_tasks() -> list[TickTask]:
    """In Lago's order within an hour: activations, ``ending_at`` (:05), trials (:35), alerts (:50)."""
    return [
        TickTask("subscriptions.activate_pending", _activate),
        TickTask("subscriptions.terminate_ended", _terminate_ended),
        TickTask("subscriptions.end_trials", _end_trials),
        TickTask("subscriptions.termination_alerts", _termination_alerts),
    ]


def subscription_job_kinds() -> list[JobKind]:
    return [JobKind(TERMINATION_ALERT_JOB, send_termination_alert)]
