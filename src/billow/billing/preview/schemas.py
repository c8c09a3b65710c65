"""``POST /invoices/preview`` input (Lago's ``InvoicePreviewInput``). Types only, kept loose."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class PreviewCustomerInput(_Input):
    external_id: str | None = None
    name: str | None = None
    currency: str | None = None
    timezone: str | None = None
    tax_identification_number: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    zipcode: str | None = None
    state: str | None = None
    country: str | None = None
    shipping_address: dict[str, Any] | None = None


class PreviewCouponInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: Any = None
    name: Any = None
    coupon_type: Any = None
    amount_cents: Any = None
    amount_currency: Any = None
    percentage_rate: Any = None
    frequency: Any = None
    frequency_duration: Any = None


class PreviewSubscriptionsInput(_Input):
    external_ids: list[str] | None = None
    plan_code: str | None = None
    terminated_at: Any = None


class InvoicePreviewInput(_Input):
    customer: PreviewCustomerInput | None = None
    plan_code: str | None = None
    subscription_at: Any = None
    billing_time: str | None = None
    coupons: list[PreviewCouponInput] | None = None
    subscriptions: PreviewSubscriptionsInput | None = None
    billing_entity_code: str | None = None
