"""Coupons (soft-deleted), what they are limited to, and the coupons applied to customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import ExactDecimal, UTCDateTime

_NOT_DELETED = text("deleted_at IS NULL")

COUPON_TYPES = ("fixed_amount", "percentage")
FREQUENCIES = ("once", "recurring", "forever")
EXPIRATIONS = ("no_expiration", "time_limit")
STATUSES = ("active", "terminated")


class Coupon(IdMixin, TimestampsMixin, Base):
    """A discount, addressed by ``code`` (unique among live coupons of the organization).

    ``status`` turns ``terminated`` when a ``time_limit`` coupon expires (hourly tick): it can no
    longer be applied, coupons already applied keep working. ``DELETE`` soft-deletes it.
    """

    __tablename__ = "coupons"
    __table_args__ = (
        Index(
            "uq_coupons_org_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=_NOT_DELETED,
            sqlite_where=_NOT_DELETED,
        ),
        Index("ix_coupons_status_expiration_at", "status", "expiration_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    coupon_type: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    amount_currency: Mapped[str | None] = mapped_column(String(3))
    # Percent, e.g. 12.5; Lago keeps 5 decimals (numeric(10, 5)).
    percentage_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    frequency: Mapped[str] = mapped_column(String(16), nullable=False)
    frequency_duration: Mapped[int | None] = mapped_column(Integer)
    expiration: Mapped[str] = mapped_column(String(16), nullable=False)
    expiration_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reusable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    limited_plans: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    limited_billable_metrics: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CouponTarget(IdMixin, TimestampsMixin, Base):
    """One plan or billable metric a coupon is limited to (soft-deleted with the coupon).

    A plan target keys the (parent) plan by ``plan_id``, as Lago does, and keeps the code it was
    given in ``plan_code``.
    """

    __tablename__ = "coupon_targets"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    coupon_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("coupons.id", ondelete="CASCADE"), nullable=False, index=True
    )
    plan_code: Mapped[str | None] = mapped_column(Text)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("plans.id"), index=True)
    billable_metric_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("billable_metrics.id", ondelete="CASCADE"), index=True
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppliedCoupon(IdMixin, TimestampsMixin, Base):
    """A coupon applied to a customer, with its own (possibly overridden) terms."""

    __tablename__ = "applied_coupons"
    __table_args__ = (Index("ix_applied_coupons_org_created", "organization_id", "created_at"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    coupon_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("coupons.id", ondelete="CASCADE"), nullable=False, index=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    amount_currency: Mapped[str | None] = mapped_column(String(3))
    percentage_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    frequency: Mapped[str] = mapped_column(String(16), nullable=False)
    frequency_duration: Mapped[int | None] = mapped_column(Integer)
    frequency_duration_remaining: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
