"""State changes of one subscription and the webhooks that announce them.

``pending → active`` (``started_at``/``activated_at`` set once), ``active → terminated``
(``terminated_at`` set once, with a reason), ``pending → canceled`` (``canceled_at``). Use cases
combine these; each webhook goes out once per transition, in the transaction of the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

import structlog
from sqlalchemy.exc import IntegrityError

from billow.core.errors import ValidationFailed
from billow.db.context import Ctx
from billow.subscriptions.models import Subscription
from billow.subscriptions.repository import ACTIVE, CANCELED, TERMINATED
from billow.subscriptions.serializers import SubscriptionEvent
from billow.webhooks.emitter import emit

log = structlog.get_logger("billow.subscriptions")

T = TypeVar("T")


def flush(ctx: Ctx) -> None:
    """Flush; a second active subscription with the same external id is ``value_already_exist``."""
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        if "external_id" not in str(exc.orig):
            raise
        raise ValidationFailed.field("external_id", "value_already_exist") from exc


def mark_active(ctx: Ctx, subscription: Subscription, at: datetime) -> None:
    subscription.status = ACTIVE
    if subscription.started_at is None:
        subscription.started_at = at
    if subscription.activated_at is None:
        subscription.activated_at = at
    subscription.updated_at = ctx.now()


def mark_terminated(ctx: Ctx, subscription: Subscription, at: datetime, reason: str) -> None:
    subscription.status = TERMINATED
    if subscription.terminated_at is None:
        subscription.terminated_at = at
    subscription.termination_reason = reason
    subscription.updated_at = ctx.now()


def mark_canceled(ctx: Ctx, subscription: Subscription) -> None:
    subscription.status = CANCELED
    if subscription.canceled_at is None:
        subscription.canceled_at = ctx.now()
    subscription.updated_at = ctx.now()


def notify(ctx: Ctx, webhook_type: str, subscription: Subscription, at: datetime | None = None) -> None:
    """Queue ``subscription.<event>`` (payload as of ``at``, default now) for every endpoint."""
    ctx.session.flush()
    emit(ctx, webhook_type, SubscriptionEvent(subscription, at or ctx.now()))


def org_ctx(ctx: Ctx, organization_id: uuid.UUID) -> Ctx:
    """The scheduler's context narrowed to one organization (same session and transaction)."""
    return replace(ctx, organization_id=organization_id)


def each_isolated(
    ctx: Ctx, task: str, items: Iterable[T], work: Callable[[Ctx, T], None], org_of: Callable[[T], uuid.UUID]
) -> int:
    """Run ``work`` for every item in a savepoint of its own: one failing item (logged, retried at
    the next tick) does not hold back the others. Returns how many succeeded."""
    done = 0
    for item in items:
        try:
            with ctx.session.begin_nested():
                work(org_ctx(ctx, org_of(item)), item)
            done += 1
        except Exception as exc:
            log.warning("subscription_tick_item_failed", task=task, error=str(exc))
    return done
