"""Webhook endpoint inputs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class WebhookEndpointInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    webhook_url: Any = None
    signature_algo: Any = None
    name: Any = None
    event_types: Any = None
