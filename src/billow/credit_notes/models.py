"""Credit notes, their items (parts of an invoice's fees) and their applied taxes (billing.md §6.4).

A credit note belongs to one invoice. Its number is ``<invoice.number>-CN<seq:03d>``, ``seq``
counting the invoice's notes (unique per invoice). A note on a draft invoice is a draft too and
is finalized (renumbered, announced) with its invoice. ``balance_amount_cents`` is what later
invoices can still consume (``credit_status`` ``available`` → ``consumed`` at 0, or ``voided``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import ExactDecimal, JsonDoc, UTCDateTime

STATUSES = ("draft", "finalized")
CREDIT_STATUSES = ("available", "consumed", "voided")
REFUND_STATUSES = ("pending", "succeeded", "failed")
REASONS = (
    "duplicated_charge",
    "product_unsatisfactory",
    "order_change",
    "order_cancellation",
    "fraudulent_charge",
    "other",
)


def _cents() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, default=0)


def _precise() -> Mapped[Decimal]:
    return mapped_column(ExactDecimal, nullable=False, default=Decimal(0))


class CreditNote(IdMixin, TimestampsMixin, Base):
    __tablename__ = "credit_notes"
    __table_args__ = (
        Index("uq_credit_notes_invoice_sequence", "invoice_id", "sequential_id", unique=True),
        Index("ix_credit_notes_org_created", "organization_id", "created_at"),
        # The consumption query: a customer's finalized notes with an available balance.
        Index("ix_credit_notes_customer_credit", "customer_id", "status", "credit_status"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("customers.id"), nullable=False)
    invoice_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("invoices.id"), nullable=False, index=True)
    sequential_id: Mapped[int] = mapped_column(Integer, nullable=False)
    number: Mapped[str] = mapped_column(String(96), nullable=False)
    issuing_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    credit_status: Mapped[str | None] = mapped_column(String(16))
    refund_status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)

    total_amount_cents: Mapped[int] = _cents()
    taxes_amount_cents: Mapped[int] = _cents()
    precise_taxes_amount_cents: Mapped[Decimal] = _precise()
    taxes_rate: Mapped[Decimal] = _precise()
    sub_total_excluding_taxes_amount_cents: Mapped[int] = _cents()
    coupons_adjustment_amount_cents: Mapped[int] = _cents()
    precise_coupons_adjustment_amount_cents: Mapped[Decimal] = _precise()
    credit_amount_cents: Mapped[int] = _cents()
    balance_amount_cents: Mapped[int] = _cents()
    refund_amount_cents: Mapped[int] = _cents()
    offset_amount_cents: Mapped[int] = _cents()

    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Lago's item metadata: one JSON object of string (or null) values, absent until set.
    metadata_value: Mapped[dict[str, Any] | None] = mapped_column("metadata", JsonDoc)

    @property
    def taxes_rounding_adjustment(self) -> Decimal:
        """``taxes_amount_cents − precise_taxes_amount_cents`` (absorbed by an exhausting note)."""
        return Decimal(self.taxes_amount_cents) - self.precise_taxes_amount_cents


class CreditNoteItem(IdMixin, TimestampsMixin, Base):
    """Part of one fee (ex-tax, before its coupon share). ``fee_id`` is cleared only while a
    draft invoice's fees are being recomputed (the item then follows the new fee)."""

    __tablename__ = "credit_note_items"

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    credit_note_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("credit_notes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    fee_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("fees.id", ondelete="SET NULL"), index=True
    )
    amount_cents: Mapped[int] = _cents()
    precise_amount_cents: Mapped[Decimal] = _precise()
    amount_currency: Mapped[str] = mapped_column(String(3), nullable=False)


class CreditNoteAppliedTax(IdMixin, TimestampsMixin, Base):
    __tablename__ = "credit_note_applied_taxes"

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    credit_note_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("credit_notes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tax_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tax_name: Mapped[str] = mapped_column(String(255), nullable=False)
    tax_code: Mapped[str] = mapped_column(String(255), nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False)
    tax_description: Mapped[str | None] = mapped_column(Text)
    amount_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_cents: Mapped[int] = _cents()
    precise_amount_cents: Mapped[Decimal] = _precise()
    base_amount_cents: Mapped[int] = _cents()
