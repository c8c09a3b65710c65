"""Subscriptions: a customer on a plan, identified by ``external_id`` across plan changes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import UTCDateTime

SUBSCRIPTION_STATUSES = ("pending", "active", "terminated", "canceled")
BILLING_TIMES = ("calendar", "anniversary")
TERMINATION_CREDIT_NOTE = ("credit", "refund", "offset", "skip")
TERMINATION_INVOICE = ("generate", "skip")
# Why a subscription ended (internal; drives proration of the last invoice).
TERMINATION_REASONS = ("manual", "ending_at", "upgrade", "downgrade", "plan_deleted")

_ACTIVE = text("status = 'active'")


class Subscription(IdMixin, TimestampsMixin, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_org_external_id", "organization_id", "external_id"),
        # At most one active subscription per external id: the database, not a hope, says so.
        Index(
            "uq_subscriptions_active_external_id",
            "organization_id",
            "external_id",
            unique=True,
            postgresql_where=_ACTIVE,
            sqlite_where=_ACTIVE,
        ),
        Index("ix_subscriptions_org_status", "organization_id", "status"),
        # The scheduler's scans: pending starts, ending dates, trials still running.
        Index("ix_subscriptions_status_subscription_at", "status", "subscription_at"),
        Index("ix_subscriptions_status_ending_at", "status", "ending_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), nullable=False, index=True
    )
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("plans.id"), nullable=False, index=True)
    # Set only when the subscription names its own billing entity (else the customer's applies).
    billing_entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("billing_entities.id"))
    previous_subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("subscriptions.id"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    billing_time: Mapped[str] = mapped_column(String(16), nullable=False, default="calendar")
    subscription_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trial_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    termination_reason: Mapped[str | None] = mapped_column(String(16))
    on_termination_credit_note: Mapped[str | None] = mapped_column(String(16))
    on_termination_invoice: Mapped[str] = mapped_column(String(16), nullable=False, default="generate")
    consolidate_invoice: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    progressive_billing_disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    purchase_order_number: Mapped[str | None] = mapped_column(String(255))
