"""``POST /customers`` input. Types only: Lago's value rules live in ``validation.py``.

Numbers sent for text fields become strings (Rails casts them the same way). Which fields were
sent (``model_fields_set``) drives partial updates: an absent field never changes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from billow.core.fields import Bool


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class BillingConfigurationInput(_Input):
    invoice_grace_period: int | None = None
    subscription_invoice_issuing_date_anchor: str | None = None
    subscription_invoice_issuing_date_adjustment: str | None = None
    payment_provider: str | None = None
    payment_provider_code: str | None = None
    provider_customer_id: str | None = None
    sync: Bool | None = None
    sync_with_provider: Bool | None = None
    document_locale: str | None = None
    provider_payment_methods: list[str] | None = None


class ShippingAddressInput(_Input):
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    zipcode: str | None = None
    state: str | None = None
    country: str | None = None


class MetadataInput(_Input):
    id: str | None = None
    key: str | None = None
    value: str | None = None
    display_in_invoice: Bool | None = None


class CustomerInput(_Input):
    external_id: str | None = None
    billing_entity_code: str | None = None
    account_type: str | None = None
    customer_type: str | None = None
    name: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    legal_name: str | None = None
    legal_number: str | None = None
    tax_identification_number: str | None = None
    email: str | None = None
    phone: str | None = None
    url: str | None = None
    logo_url: str | None = None
    external_salesforce_id: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    country: str | None = None
    currency: str | None = None
    timezone: str | None = None
    net_payment_term: int | None = None
    finalize_zero_amount_invoice: str | None = None
    skip_invoice_custom_sections: Bool | None = None
    billing_configuration: BillingConfigurationInput | None = None
    shipping_address: ShippingAddressInput | None = None
    metadata: list[MetadataInput] | None = None
    tax_codes: list[str] | None = None
    invoice_custom_section_codes: list[str] | None = None
    # Integrations are not built yet: accepted, checked for duplicate types, stored nowhere.
    integration_customers: list[dict[str, Any]] | None = None
