"""Customers (soft-deleted, numbered per organization), their metadata key/value pairs and the
taxes applied to them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import UTCDateTime

_NOT_DELETED = text("deleted_at IS NULL")


class Customer(IdMixin, TimestampsMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        # A deleted customer's external_id may be reused: unique among live customers only.
        Index(
            "uq_customers_org_external_id",
            "organization_id",
            "external_id",
            unique=True,
            sqlite_where=_NOT_DELETED,
            postgresql_where=_NOT_DELETED,
        ),
        Index("uq_customers_org_sequential_id", "organization_id", "sequential_id", unique=True),
        Index("ix_customers_org_created", "organization_id", "created_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    billing_entity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("billing_entities.id"), nullable=False, index=True
    )
    external_id: Mapped[str] = mapped_column(Text, nullable=False)
    sequential_id: Mapped[int] = mapped_column(Integer, nullable=False)
    slug: Mapped[str] = mapped_column(String(255), nullable=False)

    account_type: Mapped[str] = mapped_column(String(16), nullable=False, default="customer")
    customer_type: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    firstname: Mapped[str | None] = mapped_column(Text)
    lastname: Mapped[str | None] = mapped_column(Text)
    legal_name: Mapped[str | None] = mapped_column(Text)
    legal_number: Mapped[str | None] = mapped_column(Text)
    tax_identification_number: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    logo_url: Mapped[str | None] = mapped_column(Text)
    external_salesforce_id: Mapped[str | None] = mapped_column(Text)

    address_line1: Mapped[str | None] = mapped_column(Text)
    address_line2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    zipcode: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    shipping_address_line1: Mapped[str | None] = mapped_column(Text)
    shipping_address_line2: Mapped[str | None] = mapped_column(Text)
    shipping_city: Mapped[str | None] = mapped_column(Text)
    shipping_state: Mapped[str | None] = mapped_column(Text)
    shipping_zipcode: Mapped[str | None] = mapped_column(Text)
    shipping_country: Mapped[str | None] = mapped_column(String(2))

    currency: Mapped[str | None] = mapped_column(String(3))
    timezone: Mapped[str | None] = mapped_column(String(64))
    document_locale: Mapped[str | None] = mapped_column(String(16))
    net_payment_term: Mapped[int | None] = mapped_column(Integer)
    invoice_grace_period: Mapped[int | None] = mapped_column(Integer)
    finalize_zero_amount_invoice: Mapped[str] = mapped_column(String(16), nullable=False, default="inherit")
    skip_invoice_custom_sections: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    subscription_invoice_issuing_date_anchor: Mapped[str | None] = mapped_column(String(32))
    subscription_invoice_issuing_date_adjustment: Mapped[str | None] = mapped_column(String(32))
    payment_provider: Mapped[str | None] = mapped_column(String(32))
    payment_provider_code: Mapped[str | None] = mapped_column(Text)

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerMetadata(IdMixin, TimestampsMixin, Base):
    """One key/value pair of a customer (at most five, keys unique per customer)."""

    __tablename__ = "customer_metadata"
    __table_args__ = (Index("uq_customer_metadata_customer_key", "customer_id", "key", unique=True),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(Text, nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    display_in_invoice: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class CustomerTax(IdMixin, TimestampsMixin, Base):
    """A tax applied to the customer (Lago's ``customers_taxes``): invoicing applies it to the
    customer's fees that carry no tax of their own, before the billing entity's defaults.

    Read back through the taxes service (``live_taxes_by_id``): a deleted tax disappears."""

    __tablename__ = "customer_taxes"
    __table_args__ = (Index("uq_customer_taxes_customer_tax", "customer_id", "tax_id", unique=True),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    )
    tax_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("taxes.id", ondelete="CASCADE"), nullable=False, index=True
    )
