"""Runtime configuration, read from the environment once and passed down explicitly."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BILLOW_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default="sqlite:///./billow.db",
        validation_alias=AliasChoices("DATABASE_URL", "BILLOW_DATABASE_URL"),
    )
    host: str = "127.0.0.1"
    port: int = 3000
    api_url: str = Field(default="", description="Public base URL; the `iss` claim of webhook JWTs")

    # Bootstrap organization, ensured at start when the API key is set.
    org_api_key: str | None = None
    org_name: str = "Default organization"
    org_hmac_key: str | None = None

    # Clock: system in production, manual for the test clock.
    clock: Literal["system", "manual"] = "system"
    clock_start: datetime | None = None

    rsa_private_key: str | None = Field(default=None, description="PEM, or base64 of the PEM")

    max_body_bytes: int = 1_048_576
    events_batch_max_length: int = 100

    # Jobs
    job_max_attempts: int = 10
    job_lease_seconds: int = 300
    worker_poll_seconds: float = 1.0
    worker_batch_size: int = 20
    # Jobs of a kind that runs in groups (billing runs) are claimed up to this many at once and
    # run in one transaction (``billow.jobs.worker``). Each group pays fixed costs (its bulk
    # reads, catalog snapshots, a claim and a commit: ~0.1 s on a 2-vCPU box): 250 rather than 100
    # made a 5,000-subscription run 10% faster (500: 20%, but coarser for two workers and longer
    # numbering locks, README design notes).
    job_group_size: int = 250

    # Webhook delivery: exponential backoff over hours, unlike Lago's 3 tries in ~25 s.
    webhook_timeout_seconds: float = 30.0
    webhook_max_attempts: int = 12
    webhook_backoff_base_seconds: float = 30.0
    webhook_backoff_max_seconds: float = 6 * 3600.0

    # Subscriptions: days before ``ending_at`` that send ``subscription.termination_alert``
    # (Lago's LAGO_SUBSCRIPTION_TERMINATION_ALERT_SENT_AT_DAYS), comma-separated.
    subscription_termination_alert_days: str = "45,15"

    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _normalize_db_url(cls, value: str) -> str:
        if value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgres://")
        elif value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("subscription_termination_alert_days")
    @classmethod
    def _check_alert_days(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip() and not part.strip().isdigit():
                raise ValueError("a comma-separated list of whole numbers of days")
        return value

    @property
    def termination_alert_days(self) -> tuple[int, ...]:
        """The distinct alert offsets in days, e.g. ``(45, 15)``."""
        days = (int(part) for part in self.subscription_termination_alert_days.split(",") if part.strip())
        return tuple(dict.fromkeys(days))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_api_url(self) -> str:
        return self.api_url or f"http://{self.host}:{self.port}"
