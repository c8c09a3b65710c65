"""Add-ons (soft-deleted) and the taxes applied to them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import UTCDateTime

_NOT_DELETED = text("deleted_at IS NULL")


class AddOn(IdMixin, TimestampsMixin, Base):
    """A one-off item, addressed by ``code`` (unique among live add-ons of the organization)."""

    __tablename__ = "add_ons"
    __table_args__ = (
        Index(
            "uq_add_ons_org_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=_NOT_DELETED,
            sqlite_where=_NOT_DELETED,
        ),
        Index("ix_add_ons_org_created", "organization_id", "created_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    invoice_display_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AddOnTax(IdMixin, TimestampsMixin, Base):
    __tablename__ = "add_on_taxes"
    __table_args__ = (Index("uq_add_on_taxes_add_on_tax", "add_on_id", "tax_id", unique=True),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    add_on_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("add_ons.id", ondelete="CASCADE"), nullable=False
    )
    tax_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("taxes.id", ondelete="CASCADE"), nullable=False, index=True
    )
