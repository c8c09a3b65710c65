"""What the packages built on billable metrics do for them (wired by ``billow.runtime.build_hooks``).

Plans charge metrics and import metering, so metering cannot import plans: charges answer and
react through these callbacks instead (see ``billow.core.hooks``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from billow.db.context import Ctx

MetricCheck = Callable[[Ctx, uuid.UUID], bool]
MetricAction = Callable[[Ctx, uuid.UUID], object]
# (ctx, metric id, filters before, filters after), filters as ``{key: [values]}``.
FiltersChanged = Callable[[Ctx, uuid.UUID, Mapping[str, Sequence[str]], Mapping[str, Sequence[str]]], object]


@dataclass(frozen=True)
class MetricHooks:
    """``attached_to_plans``: any True means a live plan charges the metric (then a ``PUT`` only
    changes its name, description and filters).

    ``on_delete``: run in the deleting transaction once the metric is soft deleted (Lago deletes
    the metric's charges with it).

    ``filters_changed``: run after ``PUT`` replaced the metric's filters, so that charge filters
    drop the keys and values that no longer exist (Lago's ``CreateOrUpdateBatchService``).
    """

    attached_to_plans: tuple[MetricCheck, ...] = ()
    on_delete: tuple[MetricAction, ...] = ()
    filters_changed: tuple[FiltersChanged, ...] = ()
