"""Taxes (soft-deleted) and their application to billing entities (the organization's default taxes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import ExactDecimal, UTCDateTime

_NOT_DELETED = text("deleted_at IS NULL")


class Tax(IdMixin, TimestampsMixin, Base):
    """A named rate (percent). ``code`` is unique per organization, deleted taxes included."""

    __tablename__ = "taxes"
    __table_args__ = (
        Index(
            "uq_taxes_org_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=_NOT_DELETED,
            sqlite_where=_NOT_DELETED,
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BillingEntityTax(IdMixin, TimestampsMixin, Base):
    """A tax applied by default to every fee of a billing entity (``applied_to_organization`` for
    the default entity). Invoicing reads these as the last level of tax resolution."""

    __tablename__ = "billing_entity_taxes"
    __table_args__ = (
        Index("uq_billing_entity_taxes_entity_tax", "billing_entity_id", "tax_id", unique=True),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    billing_entity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("billing_entities.id", ondelete="CASCADE"), nullable=False
    )
    tax_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("taxes.id", ondelete="CASCADE"), nullable=False, index=True
    )
