"""What the packages built on billable metrics and events do for them (wired by
``billow.runtime.build_hooks``).

Plans charge metrics and import metering, so metering cannot import plans: charges answer and
react through these callbacks instead (see ``billow.core.hooks``). Billing reacts to ingested
events the same way (:class:`IngestionHooks`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from billow.db.context import Ctx
from billow.metering.store.base import EventRecord

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


# (ctx, codes) → the codes among them whose inserted events the listener wants. Called when the
# ingestion metric cache (re)loads those codes, never per event.
CodesWanted = Callable[[Ctx, Collection[str]], Collection[str]]
# (ctx, the inserted events of the wanted codes) in the inserting transaction.
AfterInsert = Callable[[Ctx, Sequence[EventRecord]], object]


@dataclass(frozen=True)
class IngestionListener:
    """Work that follows the insertion of events (Lago's event post-processing, metering.md §1.3
    step 4), queued in the SAME transaction as the event rows (outbox): the events and the work
    they cause commit together or not at all.

    ``wants`` keeps the hot path cheap: ingestion caches its answer per organization and code
    with the metric cache (same TTL, same invalidation), and calls ``after_insert`` only when an
    inserted event's code is wanted — once per ingestion batch or group commit, with all of its
    wanted events. ``after_insert`` must stay light (enqueue a job, flag a row).
    """

    name: str
    wants: CodesWanted
    after_insert: AfterInsert


@dataclass(frozen=True)
class IngestionHooks:
    """``listeners``: what runs after events are inserted (wired by ``billow.runtime.build_hooks``)."""

    listeners: tuple[IngestionListener, ...] = ()
