"""What the packages built on plans answer for them (wired by ``billow.runtime.build_hooks``).

Subscriptions import plans, so plans cannot import subscriptions: they answer through these
callbacks instead (see ``billow.core.hooks``). What deleting a plan does to its subscriptions is
given to the ``plans.delete_cascade`` job kind (``plan_job_kinds(before_delete=...)``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from billow.db.context import Ctx

PlanCheck = Callable[[Ctx, uuid.UUID], bool]


@dataclass(frozen=True)
class PlanHooks:
    """``attached_to_subscriptions``: any True means a subscription uses the plan (then a ``PUT``
    only changes its name, invoice display name, description and amount)."""

    attached_to_subscriptions: tuple[PlanCheck, ...] = ()
