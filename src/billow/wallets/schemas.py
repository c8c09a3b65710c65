"""Request shapes of the wallet endpoints (``WalletCreateInput``, ``WalletUpdateInput``,
``WalletTransactionCreateInput``). Fields accept any JSON value: Lago's value rules (and error
codes) are applied by the services with :mod:`billow.pricing.casting`; which fields were sent
(``model_fields_set``) drives partial updates.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RuleInput(_Input):
    lago_id: Any = None
    trigger: Any = None
    method: Any = None
    interval: Any = None
    paid_credits: Any = None
    granted_credits: Any = None
    threshold_credits: Any = None
    target_ongoing_balance: Any = None
    grants_target_top_up: Any = None
    started_at: Any = None
    expiration_at: Any = None
    invoice_requires_successful_payment: Any = None
    ignore_paid_top_up_limits: Any = None
    transaction_metadata: Any = None
    transaction_name: Any = None
    purchase_order_number: Any = None


class WalletInput(_Input):
    """Create (every field) and update (``name, code, priority, expiration_at,
    invoice_requires_successful_payment, paid_top_up_*, applies_to, recurring_transaction_rules,
    metadata, purchase_order_number``)."""

    external_customer_id: Any = None
    name: Any = None
    code: Any = None
    priority: Any = None
    rate_amount: Any = None
    currency: Any = None
    paid_credits: Any = None
    granted_credits: Any = None
    expiration_at: Any = None
    invoice_requires_successful_payment: Any = None
    paid_top_up_min_amount_cents: Any = None
    paid_top_up_max_amount_cents: Any = None
    ignore_paid_top_up_limits_on_creation: Any = None
    purchase_order_number: Any = None
    transaction_name: Any = None
    transaction_priority: Any = None
    transaction_metadata: Any = None
    billing_entity_code: Any = None
    applies_to: Any = None
    recurring_transaction_rules: Any = None
    metadata: Any = None


class WalletTransactionInput(_Input):
    wallet_id: Any = None
    paid_credits: Any = None
    granted_credits: Any = None
    voided_credits: Any = None
    invoice_requires_successful_payment: Any = None
    ignore_paid_top_up_limits: Any = None
    name: Any = None
    metadata: Any = None
    priority: Any = None
    purchase_order_number: Any = None
