"""Coupon and applied-coupon inputs. Fields are ``Any``: the services cast and check them with
Lago's error codes (``validation.py``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class CouponInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Any = None
    code: Any = None
    description: Any = None
    coupon_type: Any = None
    amount_cents: Any = None
    amount_currency: Any = None
    percentage_rate: Any = None
    frequency: Any = None
    frequency_duration: Any = None
    expiration: Any = None
    expiration_at: Any = None
    reusable: Any = None
    applies_to: Any = None


class AppliedCouponInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_customer_id: Any = None
    coupon_code: Any = None
    frequency: Any = None
    frequency_duration: Any = None
    amount_cents: Any = None
    amount_currency: Any = None
    percentage_rate: Any = None
