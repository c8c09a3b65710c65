"""Ingested events → pay-in-advance fees: the ingestion listener and the ``billing.pay_in_advance``
job (docs/adr/0001-billing-jobs.md, metering.md §1.3 step 4).

The listener (``IngestionHooks``, wired by ``billow.runtime``) wants the codes of metrics that a
live plan charges in advance (asked when ingestion's metric cache loads them, never per event)
and queues ONE job per ingestion batch or group commit, in the events' transaction, naming the
events by their dedupe key ``(external_subscription_id, transaction_id)`` (the indexed key:
events are not indexed by id).

The job, per event (oldest ingestion first): the subscription live at the event (§1.6); the
pay-in-advance charges of its plan on the event's metric — non-invoiceable ones first, then the
invoiceable ones, each oldest first; nothing for an event without the metric's field (count and
custom aside); one fee per charge (:mod:`billow.billing.advance.fees`), sent to its invoice or
stored unattached (:mod:`billow.billing.advance.invoices`). Running it twice, or twice at once,
creates each fee once (``advance:<charge_id>:<event_id>``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from billow.billing.advance.fees import Subjects, advance_fee, advance_views, idempotency_key, processable
from billow.billing.advance.invoices import fee_exists, invoice_fee, unattached_fee
from billow.billing.fees.engine import FeeEngine, build_fee_engine
from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.jobs.registry import HandlerResult, JobKind
from billow.metering.events.reads import events_by_keys
from billow.metering.hooks import IngestionListener
from billow.metering.store import EventRecord, EventStore, SqlEventStore
from billow.pricing.plans.lookup import metric_codes_with_advance_charges
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.event_match import subscription_at

log = structlog.get_logger("billow.billing.advance")

PAY_IN_ADVANCE_JOB = "billing.pay_in_advance"
LISTENER_NAME = "billing.pay_in_advance"


def wanted_codes(ctx: Ctx, codes: Collection[str]) -> set[str]:
    return metric_codes_with_advance_charges(ctx, codes)


def enqueue_pay_in_advance(ctx: Ctx, records: Sequence[EventRecord]) -> bool:
    """Queue the job for ``records`` (events without a subscription id never match one)."""
    keys = [[r.external_subscription_id, r.transaction_id] for r in records if r.external_subscription_id]
    if not keys:
        return False
    return enqueue(ctx, PAY_IN_ADVANCE_JOB, {"events": keys})


def pay_in_advance_listener() -> IngestionListener:
    return IngestionListener(name=LISTENER_NAME, wants=wanted_codes, after_insert=enqueue_pay_in_advance)


@dataclass
class Outcome:
    """What a run created (for tests and logs)."""

    fees: list[uuid.UUID] = field(default_factory=list)
    invoices: list[uuid.UUID] = field(default_factory=list)
    skipped: int = 0


def _ordered(views: Sequence[ChargeView]) -> list[ChargeView]:
    return [v for v in views if not v.charge.invoiceable] + [v for v in views if v.charge.invoiceable]


class _Views:
    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx
        self._by_key: dict[tuple[uuid.UUID, str], list[ChargeView]] = {}

    def of(self, plan_id: uuid.UUID, code: str) -> list[ChargeView]:
        key = (plan_id, code)
        if key not in self._by_key:
            self._by_key[key] = _ordered(advance_views(self._ctx, plan_id, code))
        return self._by_key[key]


def bill_events(ctx: Ctx, engine: FeeEngine, store: EventStore, events: Sequence[EventRecord]) -> Outcome:
    """Every pay-in-advance fee of ``events`` (see module doc)."""
    outcome = Outcome()
    subjects, views = Subjects(ctx), _Views(ctx)
    for event in events:
        subscription = subscription_at(ctx, event.external_subscription_id, event.timestamp)
        if subscription is None:
            continue
        charges = views.of(subscription.plan_id, event.code)
        if not charges or not processable(charges[0], event.properties):
            continue
        subject = subjects.at(subscription, event.timestamp)
        if subject is None:
            continue
        for view in charges:
            if fee_exists(ctx, idempotency_key(view.charge.id, event.id)):
                outcome.skipped += 1
                continue
            draft = advance_fee(ctx, engine, store, view, subject, event)
            if draft is None:
                continue
            if view.charge.invoiceable:
                invoiced = invoice_fee(ctx, subject, draft)
                if invoiced is None:
                    outcome.skipped += 1
                    continue
                outcome.invoices.append(invoiced[0].id)
                outcome.fees.append(invoiced[1].id)
            else:
                row = unattached_fee(ctx, subject, draft)
                if row is None:
                    outcome.skipped += 1
                    continue
                outcome.fees.append(row.id)
    return outcome


def _keys(payload: dict[str, Any]) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for item in payload.get("events") or []:
        if isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(v, str) for v in item):
            keys.append((item[0], item[1]))
    return keys


def pay_in_advance(ctx: Ctx, engine: FeeEngine, store: EventStore, payload: dict[str, Any]) -> Outcome:
    """Handle one ``billing.pay_in_advance`` payload."""
    events = events_by_keys(ctx, _keys(payload))
    outcome = bill_events(ctx, engine, store, events)
    log.info(
        "pay_in_advance_billed",
        events=len(events),
        fees=len(outcome.fees),
        invoices=len(outcome.invoices),
        skipped=outcome.skipped,
    )
    return outcome


def pay_in_advance_handler(
    engine: FeeEngine, store: EventStore
) -> Callable[[Ctx, dict[str, Any]], HandlerResult]:
    def handler(ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
        pay_in_advance(ctx, engine, store, payload)
        return None

    return handler


def advance_job_kinds(engine: FeeEngine | None = None, store: EventStore | None = None) -> list[JobKind]:
    return [
        JobKind(
            PAY_IN_ADVANCE_JOB,
            pay_in_advance_handler(engine or build_fee_engine(), store or SqlEventStore()),
        )
    ]
