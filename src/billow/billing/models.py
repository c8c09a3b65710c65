"""Invoices, the subscriptions and periods they bill, their fees, taxes and credits."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import ExactDecimal, JsonDoc, UTCDateTime

INVOICE_TYPES = ("subscription", "add_on", "credit", "one_off", "advance_charges", "progressive_billing")
INVOICE_STATUSES = (
    "generating",
    "draft",
    "finalized",
    "voided",
    "failed",
    "pending",
    "open",
    "closed",
    "deleted",
)
PAYMENT_STATUSES = ("pending", "succeeded", "failed")
INVOICING_REASONS = (
    "subscription_starting",
    "subscription_periodic",
    "subscription_terminating",
    "in_advance_charge",
    "in_advance_charge_periodic",
    "progressive_billing",
)
FEE_TYPES = ("charge", "add_on", "subscription", "credit", "commitment", "fixed_charge")

Cents = BigInteger


def _cents(default: int = 0) -> Mapped[int]:
    return mapped_column(Cents, nullable=False, default=default)


_NUMBERED = text("sequential_id IS NOT NULL")
_ENTITY_NUMBERED = text("billing_entity_sequential_id IS NOT NULL")
RECURRING_PERIOD_WHERE = text("recurring")
"""The predicate of ``uq_invoice_subscriptions_recurring_period`` (an upsert names it to use it)."""
_IDEMPOTENT = text("idempotency_key IS NOT NULL")


class Invoice(IdMixin, TimestampsMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_org_created", "organization_id", "created_at"),
        Index("ix_invoices_org_status", "organization_id", "status"),
        # Gapless numbering is assigned under a row lock; these indexes make a duplicate impossible.
        Index(
            "uq_invoices_customer_sequence",
            "customer_id",
            "billing_entity_id",
            "sequential_id",
            unique=True,
            postgresql_where=_NUMBERED,
            sqlite_where=_NUMBERED,
        ),
        Index(
            "uq_invoices_entity_sequence",
            "billing_entity_id",
            "billing_entity_sequential_id",
            unique=True,
            postgresql_where=_ENTITY_NUMBERED,
            sqlite_where=_ENTITY_NUMBERED,
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    billing_entity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("billing_entities.id"), nullable=False
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id"), nullable=False, index=True
    )
    invoice_type: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    payment_status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    number: Mapped[str] = mapped_column(String(64), nullable=False)
    sequential_id: Mapped[int | None] = mapped_column(Integer)
    billing_entity_sequential_id: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    issuing_date: Mapped[date] = mapped_column(Date, nullable=False)
    payment_due_date: Mapped[date] = mapped_column(Date, nullable=False)
    expected_finalization_date: Mapped[date | None] = mapped_column(Date)
    net_payment_term: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    payment_overdue: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    version_number: Mapped[int] = mapped_column(Integer, nullable=False, default=4)
    self_billed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Set when a plan/tax change makes a draft stale (refreshed by the scheduler).
    ready_to_be_refreshed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # A starting invoice bills no usage charges (kept so that a refresh recomputes the same fees).
    skip_charges: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    fees_amount_cents: Mapped[int] = _cents()
    coupons_amount_cents: Mapped[int] = _cents()
    progressive_billing_credit_amount_cents: Mapped[int] = _cents()
    sub_total_excluding_taxes_amount_cents: Mapped[int] = _cents()
    taxes_amount_cents: Mapped[int] = _cents()
    taxes_rate: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False, default=Decimal(0))
    sub_total_including_taxes_amount_cents: Mapped[int] = _cents()
    credit_notes_amount_cents: Mapped[int] = _cents()
    prepaid_credit_amount_cents: Mapped[int] = _cents()
    prepaid_granted_credit_amount_cents: Mapped[int | None] = mapped_column(Cents)
    prepaid_purchased_credit_amount_cents: Mapped[int | None] = mapped_column(Cents)
    total_amount_cents: Mapped[int] = _cents()
    total_paid_amount_cents: Mapped[int] = _cents()
    # Σ offsets of the invoice's finalized credit notes (kept by the credit notes package).
    total_offsetted_credit_note_amount_cents: Mapped[int] = _cents()

    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_dispute_lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("invoices.id"))


class InvoiceMetadata(IdMixin, TimestampsMixin, Base):
    __tablename__ = "invoice_metadata"

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True
    )
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class InvoiceSubscription(IdMixin, TimestampsMixin, Base):
    """One subscription's period on one invoice. ``period_key`` + ``recurring`` make a second
    periodic invoice for the same subscription and period impossible, even under races."""

    __tablename__ = "invoice_subscriptions"
    __table_args__ = (
        Index(
            "uq_invoice_subscriptions_recurring_period",
            "subscription_id",
            "period_key",
            unique=True,
            postgresql_where=RECURRING_PERIOD_WHERE,
            sqlite_where=RECURRING_PERIOD_WHERE,
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subscriptions.id"), nullable=False, index=True
    )
    invoicing_reason: Mapped[str] = mapped_column(String(32), nullable=False)
    recurring: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    period_key: Mapped[str] = mapped_column(String(255), nullable=False)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    from_datetime: Mapped[datetime | None] = mapped_column(UTCDateTime)
    to_datetime: Mapped[datetime | None] = mapped_column(UTCDateTime)
    charges_from_datetime: Mapped[datetime | None] = mapped_column(UTCDateTime)
    charges_to_datetime: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fixed_charges_from_datetime: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fixed_charges_to_datetime: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Fee(IdMixin, TimestampsMixin, Base):
    __tablename__ = "fees"
    __table_args__ = (
        Index("ix_fees_org_created", "organization_id", "created_at"),
        # organization first: every fee query is org-scoped, and with the organization in a second
        # index PostgreSQL's generic plans AND-ed both, scanning all of an organization's fees
        # per invoice (quadratic billing runs).
        Index("ix_fees_org_subscription", "organization_id", "subscription_id", "created_at"),
        # One pay-in-advance fee per (charge, event) and similar idempotent fees.
        Index(
            "uq_fees_idempotency_key",
            "organization_id",
            "idempotency_key",
            unique=True,
            postgresql_where=_IDEMPOTENT,
            sqlite_where=_IDEMPOTENT,
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("customers.id"), nullable=False)
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("subscriptions.id"))
    charge_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    charge_filter_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    fixed_charge_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    add_on_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    billable_metric_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    true_up_parent_fee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("fees.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # Never read (``lazy="raise"``): it orders the unit of work. A fee pending beside its pending
    # invoice in one flush (a group of billing jobs defers its writes to one flush:
    # ``billow.db.prefetch.defer_writes``) is inserted after it; unrelated mappers would flush in
    # the order of their class names, fees first.
    invoice_row: Mapped[Invoice | None] = relationship(Invoice, lazy="raise", foreign_keys=[invoice_id])

    fee_type: Mapped[str] = mapped_column(String(16), nullable=False)
    invoiceable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    pay_in_advance: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    invoice_display_name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    grouped_by: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)

    amount_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_cents: Mapped[int] = _cents()
    precise_amount_cents: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False, default=Decimal(0))
    unit_amount_cents: Mapped[int] = _cents()
    precise_unit_amount: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False, default=Decimal(0))
    units: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False, default=Decimal(0))
    total_aggregated_units: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    events_count: Mapped[int | None] = mapped_column(Integer)
    amount_details: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    # Period boundaries and the other facts Lago keeps in ``fee.properties``.
    properties: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    pricing_unit_details: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)

    precise_coupons_amount_cents: Mapped[Decimal] = mapped_column(
        ExactDecimal, nullable=False, default=Decimal(0)
    )
    precise_credit_notes_amount_cents: Mapped[Decimal] = mapped_column(
        ExactDecimal, nullable=False, default=Decimal(0)
    )
    taxes_amount_cents: Mapped[int] = _cents()
    taxes_precise_amount_cents: Mapped[Decimal] = mapped_column(
        ExactDecimal, nullable=False, default=Decimal(0)
    )
    taxes_rate: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False, default=Decimal(0))

    payment_status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pay_in_advance_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    pay_in_advance_event_transaction_id: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeeAppliedTax(IdMixin, TimestampsMixin, Base):
    __tablename__ = "fee_applied_taxes"

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    fee_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("fees.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tax_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Never read: after its fee in a flush (see ``Fee.invoice_row``).
    fee_row: Mapped[Fee] = relationship(Fee, lazy="raise", foreign_keys=[fee_id])
    tax_name: Mapped[str] = mapped_column(String(255), nullable=False)
    tax_code: Mapped[str] = mapped_column(String(255), nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False)
    tax_description: Mapped[str | None] = mapped_column(Text)
    amount_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_cents: Mapped[int] = _cents()
    precise_amount_cents: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False, default=Decimal(0))


class InvoiceAppliedTax(IdMixin, TimestampsMixin, Base):
    __tablename__ = "invoice_applied_taxes"

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tax_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tax_name: Mapped[str] = mapped_column(String(255), nullable=False)
    tax_code: Mapped[str] = mapped_column(String(255), nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False)
    tax_description: Mapped[str | None] = mapped_column(Text)
    amount_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_cents: Mapped[int] = _cents()
    precise_amount_cents: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False, default=Decimal(0))
    fees_amount_cents: Mapped[int] = _cents()
    taxable_base_amount_cents: Mapped[int] = _cents()


class Credit(IdMixin, TimestampsMixin, Base):
    """An amount deducted from an invoice: a coupon, a credit note, or a progressive-billing
    invoice already paid for part of the period."""

    __tablename__ = "credits"

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True
    )
    applied_coupon_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    credit_note_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    progressive_billing_invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("invoices.id"))
    amount_cents: Mapped[int] = _cents()
    amount_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    before_taxes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
