"""Organizations, their billing entities and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import JsonDoc, UTCDateTime


class Organization(IdMixin, TimestampsMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    hmac_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


class BillingEntity(IdMixin, TimestampsMixin, Base):
    """The legal issuer of invoices. Every organization has a default one."""

    __tablename__ = "billing_entities"
    __table_args__ = (Index("uq_billing_entities_org_code", "organization_id", "code", unique=True),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    code: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    default_currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    country: Mapped[str | None] = mapped_column(String(2))
    address_line1: Mapped[str | None] = mapped_column(String(255))
    address_line2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(255))
    zipcode: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    legal_name: Mapped[str | None] = mapped_column(String(255))
    legal_number: Mapped[str | None] = mapped_column(String(255))
    tax_identification_number: Mapped[str | None] = mapped_column(String(255))

    net_payment_term: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    invoice_grace_period: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    invoice_footer: Mapped[str | None] = mapped_column(Text)
    document_locale: Mapped[str] = mapped_column(String(16), nullable=False, default="en")
    document_numbering: Mapped[str] = mapped_column(String(32), nullable=False, default="per_customer")
    document_number_prefix: Mapped[str] = mapped_column(String(10), nullable=False)
    finalize_zero_amount_invoice: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    email_settings: Mapped[list[Any]] = mapped_column(JsonDoc, nullable=False, default=list)


class ApiKey(IdMixin, Base):
    __tablename__ = "api_keys"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
