"""Wallets (prepaid credits), the metrics they are limited to, their recurring top-up rules, their
transactions, and which inbound transaction funded which outbound one (billing.md §6.5).

Money balances are integer cents; credit amounts exact decimals (Lago's ``numeric(30, 5)``).
A wallet's balance never goes below zero (CHECK): every move is one guarded ``UPDATE``
(:mod:`billow.wallets.ledger`) recorded by a settled transaction, so
``balance_cents = Σ settled inbound − Σ settled outbound``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import ExactDecimal, JsonDoc, UTCDateTime

WALLET_STATUSES = ("active", "terminated")
TRANSACTION_TYPES = ("inbound", "outbound")
STATUSES = ("pending", "settled", "failed")
TRANSACTION_STATUSES = ("purchased", "granted", "voided", "invoiced")
SOURCES = ("manual", "interval", "threshold")
TRIGGERS = ("interval", "threshold")
METHODS = ("fixed", "target")
INTERVALS = ("weekly", "monthly", "quarterly", "semiannual", "yearly")
RULE_STATUSES = ("active", "terminated")
LIMITABLE_FEE_TYPES = ("charge", "add_on", "subscription", "credit", "commitment", "fixed_charge")

_ACTIVE = text("status = 'active'")
_INVOICED = text("transaction_status = 'invoiced'")
_ZERO = Decimal(0)


def _decimal(default: Decimal = _ZERO) -> Mapped[Decimal]:
    return mapped_column(ExactDecimal, nullable=False, default=default)


def _cents() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, default=0)


class Wallet(IdMixin, TimestampsMixin, Base):
    __tablename__ = "wallets"
    __table_args__ = (
        # Lago: a code is unique among the customer's active wallets.
        Index(
            "uq_wallets_customer_active_code",
            "customer_id",
            "code",
            unique=True,
            postgresql_where=_ACTIVE,
            sqlite_where=_ACTIVE,
        ),
        Index("ix_wallets_org_customer", "organization_id", "customer_id"),
        Index("ix_wallets_status_expiration_at", "status", "expiration_at"),
        CheckConstraint("balance_cents >= 0", name="balance_not_negative"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("customers.id"), nullable=False)
    billing_entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("billing_entities.id"))
    name: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    rate_amount: Mapped[Decimal] = _decimal()
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=50)
    # Every Billow wallet keeps the per-transaction ledger (Lago's ``traceable``).
    traceable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    balance_cents: Mapped[int] = _cents()
    credits_balance: Mapped[Decimal] = _decimal()
    consumed_amount_cents: Mapped[int] = _cents()
    consumed_credits: Mapped[Decimal] = _decimal()
    ongoing_balance_cents: Mapped[int] = _cents()
    ongoing_usage_balance_cents: Mapped[int] = _cents()
    credits_ongoing_balance: Mapped[Decimal] = _decimal()
    credits_ongoing_usage_balance: Mapped[Decimal] = _decimal()
    depleted_ongoing_balance: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    invoice_requires_successful_payment: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    paid_top_up_min_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    paid_top_up_max_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    allowed_fee_types: Mapped[list[str]] = mapped_column(JsonDoc, nullable=False, default=list)
    purchase_order_number: Mapped[str | None] = mapped_column(Text)
    # Lago's metadata item: ``None`` when the wallet has none (the key is then absent).
    item_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JsonDoc)

    expiration_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_balance_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_consumed_credit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ongoing_balance_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WalletTarget(IdMixin, TimestampsMixin, Base):
    """A billable metric a wallet is limited to (``applies_to.billable_metric_codes``)."""

    __tablename__ = "wallet_targets"
    __table_args__ = (
        Index("uq_wallet_targets_wallet_metric", "wallet_id", "billable_metric_id", unique=True),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    wallet_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("wallets.id", ondelete="CASCADE"), nullable=False
    )
    billable_metric_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("billable_metrics.id"), nullable=False, index=True
    )


class RecurringTransactionRule(IdMixin, TimestampsMixin, Base):
    __tablename__ = "recurring_transaction_rules"
    __table_args__ = (Index("ix_recurring_transaction_rules_wallet", "wallet_id", "status"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    wallet_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("wallets.id", ondelete="CASCADE"), nullable=False
    )
    trigger: Mapped[str] = mapped_column(String(16), nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False, default="fixed")
    interval: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    paid_credits: Mapped[Decimal] = _decimal()
    granted_credits: Mapped[Decimal] = _decimal()
    threshold_credits: Mapped[Decimal] = _decimal()
    target_ongoing_balance: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    grants_target_top_up: Mapped[bool | None] = mapped_column(Boolean)
    invoice_requires_successful_payment: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    ignore_paid_top_up_limits: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    transaction_metadata: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, nullable=False, default=list)
    transaction_name: Mapped[str | None] = mapped_column(String(255))
    purchase_order_number: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expiration_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WalletTransaction(IdMixin, TimestampsMixin, Base):
    """One credit movement. ``amount`` is money (major units), ``amount_cents`` the same in
    cents, ``credit_amount`` credits. ``remaining_amount_cents``: what is left of a settled
    inbound transaction (consumed oldest-priority first)."""

    __tablename__ = "wallet_transactions"
    __table_args__ = (
        Index("ix_wallet_transactions_wallet_created", "wallet_id", "created_at"),
        Index("ix_wallet_transactions_org_created", "organization_id", "created_at"),
        Index("ix_wallet_transactions_invoice", "invoice_id"),
        # One consumption per wallet per invoice, even under races.
        Index(
            "uq_wallet_transactions_invoiced",
            "wallet_id",
            "invoice_id",
            unique=True,
            postgresql_where=_INVOICED,
            sqlite_where=_INVOICED,
        ),
        CheckConstraint("remaining_amount_cents >= 0", name="remaining_not_negative"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    wallet_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("wallets.id", ondelete="CASCADE"), nullable=False
    )
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("invoices.id"))
    credit_note_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    voided_invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    transaction_type: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    transaction_status: Mapped[str] = mapped_column(String(16), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="manual")
    amount: Mapped[Decimal] = _decimal()
    amount_cents: Mapped[int] = _cents()
    credit_amount: Mapped[Decimal] = _decimal()
    remaining_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=50)
    name: Mapped[str | None] = mapped_column(String(255))
    transaction_metadata: Mapped[list[dict[str, Any]]] = mapped_column(
        "metadata", JsonDoc, nullable=False, default=list
    )
    invoice_requires_successful_payment: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    purchase_order_number: Mapped[str | None] = mapped_column(Text)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WalletTransactionConsumption(IdMixin, TimestampsMixin, Base):
    """``consumed_amount_cents`` of an inbound transaction spent by an outbound one."""

    __tablename__ = "wallet_transaction_consumptions"
    __table_args__ = (
        Index(
            "uq_wallet_transaction_consumptions_pair",
            "inbound_wallet_transaction_id",
            "outbound_wallet_transaction_id",
            unique=True,
        ),
        Index("ix_wallet_transaction_consumptions_outbound", "outbound_wallet_transaction_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    inbound_wallet_transaction_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("wallet_transactions.id", ondelete="CASCADE"), nullable=False
    )
    outbound_wallet_transaction_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("wallet_transactions.id", ondelete="CASCADE"), nullable=False
    )
    consumed_amount_cents: Mapped[int] = _cents()
