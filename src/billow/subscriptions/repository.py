"""Subscription queries reused by several use cases (and by other packages through ``queries``).

Every query is scoped by the organization (``ctx.org_id``), except the scheduler's scans, which
look at every organization and hand each row to a context of its own organization.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from billow.db.context import Ctx
from billow.subscriptions.models import Subscription

PENDING, ACTIVE, TERMINATED, CANCELED = "pending", "active", "terminated", "canceled"


def of_org(ctx: Ctx) -> Select[Subscription]:
    return select(Subscription).where(Subscription.organization_id == ctx.org_id)


SUCCESSOR = aliased(Subscription, name="successor")
"""A subscription's successor: with :func:`successor_of`, its ``next_subscription`` is read on its
own (:func:`next_subscription`) or in the statement that reads the subscription (a join)."""


def successor_of(organization_id: Any, subscription_id: Any) -> ColumnElement[bool]:
    """:data:`SUCCESSOR` rows that succeed ``subscription_id`` and are not canceled; ordered by
    :data:`SUCCESSOR_NEWEST_FIRST`, the first is Lago's ``next_subscription``. The arguments are
    values, bind parameters or the columns of the subscription joined to."""
    return and_(
        SUCCESSOR.organization_id == organization_id,
        SUCCESSOR.previous_subscription_id == subscription_id,
        SUCCESSOR.status != CANCELED,
    )


SUCCESSOR_NEWEST_FIRST = (SUCCESSOR.created_at.desc(), SUCCESSOR.id.desc())

# Built once (asked for every invoice; building a statement costs more than running it): the
# values are bound.
_NEXT = (
    select(SUCCESSOR)
    .where(successor_of(bindparam("org"), bindparam("previous")))
    .order_by(*SUCCESSOR_NEWEST_FIRST)
    .limit(1)
)


def next_subscription(session: Session, subscription: Subscription) -> Subscription | None:
    """The most recently created successor that is not canceled (Lago's ``next_subscription``)."""
    return session.scalar(_NEXT, {"org": subscription.organization_id, "previous": subscription.id})


def next_subscriptions_of(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Subscription]:
    """``next_subscription`` of many subscriptions at once."""
    if not ids:
        return {}
    rows = session.scalars(
        select(Subscription)
        .where(Subscription.previous_subscription_id.in_(list(ids)), Subscription.status != CANCELED)
        .order_by(Subscription.created_at, Subscription.id)
    )
    result: dict[uuid.UUID, Subscription] = {}
    for row in rows:
        assert row.previous_subscription_id is not None
        result[row.previous_subscription_id] = row  # the newest wins
    return result


def subscriptions_by_id(session: Session, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Subscription]:
    if not ids:
        return {}
    rows = session.scalars(select(Subscription).where(Subscription.id.in_(list(ids))))
    return {row.id: row for row in rows}


def previous_subscription(session: Session, subscription: Subscription) -> Subscription | None:
    if subscription.previous_subscription_id is None:
        return None
    return session.get(Subscription, subscription.previous_subscription_id)


def initial_started_at(session: Session, subscription: Subscription) -> datetime:
    """The earliest ``started_at`` of the customer's subscriptions with this external id (the trial
    runs from there), else the subscription's own ``subscription_at``."""
    earliest = session.scalar(
        select(func.min(Subscription.started_at)).where(
            Subscription.customer_id == subscription.customer_id,
            Subscription.external_id == subscription.external_id,
            Subscription.started_at.is_not(None),
        )
    )
    if subscription.started_at is not None and (earliest is None or subscription.started_at < earliest):
        earliest = subscription.started_at  # not flushed yet
    return earliest if earliest is not None else subscription.subscription_at


def editable_subscription(ctx: Ctx, customer_id: uuid.UUID, external_id: str) -> Subscription | None:
    """The customer's subscription a ``POST /subscriptions`` with this external id changes: the
    active one, or one starting in the future (pending without previous subscription)."""
    return ctx.session.scalar(
        of_org(ctx)
        .where(
            Subscription.customer_id == customer_id,
            Subscription.external_id == external_id,
            or_(
                Subscription.status == ACTIVE,
                (Subscription.status == PENDING) & Subscription.previous_subscription_id.is_(None),
            ),
        )
        .order_by(Subscription.started_at.desc(), Subscription.created_at.desc())
        .limit(1)
    )


def active_external_id_taken(ctx: Ctx, external_id: str) -> bool:
    stmt = of_org(ctx).with_only_columns(Subscription.id)
    stmt = stmt.where(Subscription.external_id == external_id, Subscription.status == ACTIVE)
    return ctx.session.scalar(stmt.limit(1)) is not None


def last_invoiced_termination(ctx: Ctx, customer_id: uuid.UUID, external_id: str) -> datetime | None:
    """Latest ``terminated_at`` of the customer's terminated subscriptions with this external id
    whose termination was invoiced (``on_termination_invoice = generate``)."""
    return ctx.session.scalar(
        select(func.max(Subscription.terminated_at)).where(
            Subscription.organization_id == ctx.org_id,
            Subscription.customer_id == customer_id,
            Subscription.external_id == external_id,
            Subscription.status == TERMINATED,
            Subscription.on_termination_invoice == "generate",
        )
    )


def subscriptions_of_plans(
    ctx: Ctx, plan_ids: Sequence[uuid.UUID], statuses: Sequence[str]
) -> list[Subscription]:
    if not plan_ids:
        return []
    return list(
        ctx.session.scalars(
            of_org(ctx)
            .where(Subscription.plan_id.in_(list(plan_ids)), Subscription.status.in_(list(statuses)))
            .order_by(Subscription.created_at, Subscription.id)
        )
    )
