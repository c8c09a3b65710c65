"""Pricing unit inputs. Fields are ``Any``: the service casts and checks them with Lago's codes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class PricingUnitInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Any = None
    code: Any = None
    short_name: Any = None
    description: Any = None
