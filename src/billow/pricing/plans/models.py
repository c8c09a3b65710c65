"""Plans and what they price: charges, charge filters, fixed charges, the minimum commitment,
usage thresholds, and the taxes applied to any of them.

Soft deletes (``deleted_at``) keep the rows that invoices point to; a child plan (``parent_id``)
is the copy of a plan a subscription's overrides created, and its charges point to the charges
they copy (``parent_id``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import ExactDecimal, JsonDoc, UTCDateTime

INTERVALS = ("weekly", "monthly", "quarterly", "semiannual", "yearly")
MONTHLY_SPLIT_INTERVALS = ("yearly", "semiannual")
FIXED_CHARGE_MODELS = ("standard", "graduated", "volume")
REGROUP_PAID_FEES = ("invoice",)

_LIVE = text("deleted_at IS NULL")
_LIVE_PARENT = text("deleted_at IS NULL AND parent_id IS NULL")


class Plan(IdMixin, TimestampsMixin, Base):
    """``code`` is unique among the organization's live parent plans (children reuse it).

    ``item_metadata`` is Lago's metadata item: ``None`` when the plan has none (the key is then
    absent from the payload), else a ``{key: string | null}`` object.
    """

    __tablename__ = "plans"
    __table_args__ = (
        Index(
            "uq_plans_org_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=_LIVE_PARENT,
            sqlite_where=_LIVE_PARENT,
        ),
        Index("ix_plans_org_created", "organization_id", "created_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("plans.id"), index=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    invoice_display_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    interval: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    pay_in_advance: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Days (Lago keeps a float); ``None``/0 means no trial.
    trial_period: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    bill_charges_monthly: Mapped[bool | None] = mapped_column(Boolean)
    bill_fixed_charges_monthly: Mapped[bool | None] = mapped_column(Boolean)
    pending_deletion: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    item_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JsonDoc)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Charge(IdMixin, TimestampsMixin, Base):
    """A usage charge: a billable metric priced by a charge model.

    ``properties`` are stored normalized (the model's keys only, ``pricing_group_keys`` instead of
    ``grouped_by``). A charge priced in a pricing unit keeps the unit and its conversion rate
    (Lago's applied pricing unit) on the row.
    """

    __tablename__ = "charges"
    __table_args__ = (
        Index(
            "uq_charges_plan_code",
            "plan_id",
            "code",
            unique=True,
            postgresql_where=_LIVE_PARENT,
            sqlite_where=_LIVE_PARENT,
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("plans.id"), nullable=False, index=True)
    billable_metric_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("billable_metrics.id"), nullable=False, index=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("charges.id"), index=True)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    invoice_display_name: Mapped[str | None] = mapped_column(Text)
    charge_model: Mapped[str] = mapped_column(String(32), nullable=False)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    pay_in_advance: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    prorated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    invoiceable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    regroup_paid_fees: Mapped[str | None] = mapped_column(String(16))
    min_amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    accepts_target_wallet: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    pricing_unit_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("pricing_units.id"), index=True
    )
    # numeric(40, 15) in Lago; > 0 when ``pricing_unit_id`` is set.
    pricing_unit_conversion_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChargeFilter(IdMixin, TimestampsMixin, Base):
    """Differentiated pricing for the events whose properties match ``values``.

    ``values`` is a list of ``{"key": str, "values": [str]}`` in the order given (a list, since
    JSONB does not keep object key order); keys are the metric's filter keys and values its declared
    values or ``["__ALL_FILTER_VALUES__"]``. Among identical filters the older one wins, ordered by
    ``(created_at, id)`` (ids are time-ordered).
    """

    __tablename__ = "charge_filters"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    charge_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("charges.id"), nullable=False, index=True)
    invoice_display_name: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    values: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, nullable=False, default=list)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FixedCharge(IdMixin, TimestampsMixin, Base):
    """An add-on billed every period for a number of ``units`` (metering.md §3.11)."""

    __tablename__ = "fixed_charges"
    __table_args__ = (
        Index(
            "uq_fixed_charges_plan_code",
            "plan_id",
            "code",
            unique=True,
            postgresql_where=_LIVE_PARENT,
            sqlite_where=_LIVE_PARENT,
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("plans.id"), nullable=False, index=True)
    add_on_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("add_ons.id"), nullable=False, index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("fixed_charges.id"), index=True)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    invoice_display_name: Mapped[str | None] = mapped_column(Text)
    charge_model: Mapped[str] = mapped_column(String(16), nullable=False)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    pay_in_advance: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    prorated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # numeric(30, 10) in Lago.
    units: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Commitment(IdMixin, TimestampsMixin, Base):
    """A plan's minimum commitment (billing.md §5.1): at most one per plan, hard-deleted."""

    __tablename__ = "commitments"
    __table_args__ = (Index("uq_commitments_plan", "plan_id", unique=True),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("plans.id"), nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    invoice_display_name: Mapped[str | None] = mapped_column(Text)


class UsageThreshold(IdMixin, TimestampsMixin, Base):
    """A progressive-billing threshold of a plan (billing.md §5.3); replaced, never edited, by a
    plan update (old rows are soft-deleted)."""

    __tablename__ = "usage_thresholds"
    __table_args__ = (
        Index("ix_usage_thresholds_plan_live", "plan_id", postgresql_where=_LIVE, sqlite_where=_LIVE),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("plans.id"), nullable=False)
    threshold_display_name: Mapped[str | None] = mapped_column(Text)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recurring: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlanItemTax(IdMixin, TimestampsMixin, Base):
    """A tax applied to a plan, a charge, a fixed charge or a minimum commitment.

    ``owner_type`` is one of ``OWNER_TYPES``; taxes are listed in the order they were applied.
    """

    __tablename__ = "plan_item_taxes"
    __table_args__ = (
        Index("uq_plan_item_taxes_owner_tax", "owner_type", "owner_id", "tax_id", unique=True),
        Index("ix_plan_item_taxes_owner", "owner_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    owner_type: Mapped[str] = mapped_column(String(16), nullable=False)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    tax_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("taxes.id", ondelete="CASCADE"), nullable=False, index=True
    )


OWNER_TYPES = ("plan", "charge", "fixed_charge", "commitment")
