"""The jobs table: the transactional outbox every side effect goes through."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from billow.db.base import Base
from billow.db.types import JsonDoc, UTCDateTime

# INTEGER PRIMARY KEY on SQLite is the rowid (auto-increment); BIGINT identity on PostgreSQL.
JobId = BigInteger().with_variant(Integer(), "sqlite")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_at"),
        Index("uq_jobs_unique_key", "unique_key", unique=True),
    )

    id: Mapped[int] = mapped_column(JobId, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(100), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc, nullable=False, default=dict)
    # Idempotency: a second enqueue with the same key is ignored, forever.
    unique_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SchedulerState(Base):
    """The last hour boundary the scheduler ticked (so missed hours are caught up)."""

    __tablename__ = "scheduler_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_tick_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ClockState(Base):
    """Where the manual (test) clock stands, so a restart does not move it backwards."""

    __tablename__ = "clock_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    now: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
