"""Plan job kinds: ``plans.delete_cascade`` (queued by ``DELETE /plans/{code}``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial
from typing import Any

from billow.db.context import Ctx
from billow.jobs.registry import HandlerResult, JobKind
from billow.pricing.plans.service import DELETE_CASCADE_JOB, PlanHook, delete_cascade


def _delete_cascade(hooks: Sequence[PlanHook], ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
    delete_cascade(ctx, uuid.UUID(str(payload["plan_id"])), hooks)
    return None


def plan_job_kinds(before_delete: Sequence[PlanHook] = ()) -> list[JobKind]:
    """``before_delete``: what must happen to a plan's subscriptions and invoices before it is
    soft-deleted (each hook gets the job's ``Ctx`` and the plan, or each of its children; a hook
    that raises retries the job). The runtime passes the subscriptions package's termination."""
    return [JobKind(DELETE_CASCADE_JOB, partial(_delete_cascade, tuple(before_delete)))]
