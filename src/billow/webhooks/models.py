"""Webhook endpoints, webhook messages (one per endpoint) and their delivery attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base, IdMixin, TimestampsMixin
from billow.db.types import JsonDoc, UTCDateTime


class WebhookEndpoint(IdMixin, TimestampsMixin, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("uq_webhook_endpoints_org_url", "organization_id", "webhook_url", unique=True),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    webhook_url: Mapped[str] = mapped_column(String(2048), nullable=False)
    signature_algo: Mapped[str] = mapped_column(String(8), nullable=False, default="jwt")
    name: Mapped[str | None] = mapped_column(String(255))
    # None means every type.
    event_types: Mapped[list[str] | None] = mapped_column(JsonDoc)


class Webhook(IdMixin, TimestampsMixin, Base):
    """One message for one endpoint. Its id is the ``X-Lago-Unique-Key``; its body never changes."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_org_created", "organization_id", "created_at"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    webhook_endpoint_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False, index=True
    )
    webhook_type: Mapped[str] = mapped_column(String(100), nullable=False)
    object_type: Mapped[str] = mapped_column(String(100), nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    retries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    endpoint: Mapped[str] = mapped_column(String(2048), nullable=False)


class WebhookAttempt(IdMixin, Base):
    __tablename__ = "webhook_attempts"

    webhook_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    http_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    manual: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class DeploymentSecret(Base):
    """Deployment-wide secrets such as the webhook RSA key pair (one for the whole deployment)."""

    __tablename__ = "deployment_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    meta: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
