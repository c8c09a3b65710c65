"""``POST /subscriptions`` and ``PUT /subscriptions/{external_id}`` inputs.

Types only, kept loose like Rails params (numbers sent for text fields become strings); Lago's
value rules and error codes live in :mod:`billow.subscriptions.validation`. Which fields were sent
(``model_fields_set``) matters: an absent field never changes anything.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class SubscriptionCreateInput(_Input):
    external_customer_id: str | None = None
    plan_code: str | None = None
    external_id: str | None = None
    name: str | None = None
    billing_time: str | None = None
    subscription_at: Any = None
    ending_at: Any = None
    billing_entity_code: str | None = None
    billing_entity_id: str | None = None
    plan_overrides: dict[str, Any] | None = None
    consolidate_invoice: Any = None
    progressive_billing_disabled: Any = None
    purchase_order_number: str | None = None


class SubscriptionUpdateInput(_Input):
    name: str | None = None
    ending_at: Any = None
    subscription_at: Any = None
    plan_overrides: dict[str, Any] | None = None
    billing_entity_code: str | None = None
    billing_entity_id: str | None = None
    on_termination_credit_note: str | None = None
    on_termination_invoice: str | None = None
    consolidate_invoice: Any = None
    progressive_billing_disabled: Any = None
    purchase_order_number: str | None = None
