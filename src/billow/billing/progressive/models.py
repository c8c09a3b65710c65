"""Lifetime usage, applied usage thresholds and progressive-billing credit excesses."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import UTCDateTime


class LifetimeUsage(IdMixin, TimestampsMixin, Base):
    """The lifetime usage of a subscription across its plan changes (metering.md §5): one row per
    ``(external_subscription_id, subscription_at)`` — a plan change keeps both — pointing at the
    newest subscription of that chain. Amounts are pre-tax cents."""

    __tablename__ = "lifetime_usages"
    __table_args__ = (
        Index(
            "uq_lifetime_usages_chain",
            "organization_id",
            "external_subscription_id",
            "subscription_at",
            unique=True,
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subscriptions.id"), nullable=False, index=True
    )
    external_subscription_id: Mapped[str] = mapped_column(String(255), nullable=False)
    subscription_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    historical_usage_amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    invoiced_usage_amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    current_usage_amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    invoiced_usage_amount_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_usage_amount_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def total_amount_cents(self) -> int:
        return (
            self.historical_usage_amount_cents
            + self.invoiced_usage_amount_cents
            + self.current_usage_amount_cents
        )


class AppliedUsageThreshold(IdMixin, TimestampsMixin, Base):
    """A threshold a progressive-billing invoice was issued for (``applied_usage_thresholds``).

    ``crossing_key`` names the crossing (the subscription chain, its invoiced usage, the largest
    threshold passed and the period's previous progressive invoice): the unique index makes a
    second invoice for the same crossing impossible, even when two refreshes race. The
    threshold's fields are kept as they were (plan updates replace thresholds)."""

    __tablename__ = "applied_usage_thresholds"
    __table_args__ = (
        Index(
            "uq_applied_usage_thresholds_crossing",
            "organization_id",
            "crossing_key",
            "usage_threshold_id",
            unique=True,
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True
    )
    usage_threshold_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("usage_thresholds.id"), nullable=False, index=True
    )
    crossing_key: Mapped[str] = mapped_column(Text, nullable=False)
    lifetime_usage_amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recurring: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    threshold_display_name: Mapped[str | None] = mapped_column(Text)


class ProgressiveBillingExcess(IdMixin, TimestampsMixin, Base):
    """What a progressive-billing invoice could not credit on a later invoice of its period
    (billing.md §5.3: more than the matching charge fees). It is given back by a credit note on
    the progressive invoice; ``credit_note_id`` is set by whoever issues it (the credit notes
    package, through ``ProgressiveBillingHooks.on_excess``)."""

    __tablename__ = "progressive_billing_excesses"
    __table_args__ = (
        Index(
            "uq_progressive_billing_excesses_invoice",
            "invoice_id",
            "progressive_billing_invoice_id",
            unique=True,
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False
    )
    progressive_billing_invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id"), nullable=False, index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    credit_note_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
