"""Pricing units (soft-deleted: the charges and fees priced in one keep pointing to it)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import UTCDateTime

_LIVE = text("deleted_at IS NULL")


class PricingUnit(IdMixin, TimestampsMixin, Base):
    """A unit charges can be priced in (``credits``), converted to the plan's currency per charge.

    ``code`` is unique among the organization's live units; its exponent is fixed at 2
    (metering.md §3.10).
    """

    __tablename__ = "pricing_units"
    __table_args__ = (
        Index(
            "uq_pricing_units_org_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
        Index("ix_pricing_units_org_created", "organization_id", "created_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    short_name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
