"""``PUT /organizations`` input."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from billow.core.fields import Bool, Country, Currency, Email, Timezone


class BillingConfigurationInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    invoice_footer: str | None = None
    invoice_grace_period: int | None = Field(default=None, ge=0, le=365)
    document_locale: str | None = None


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    webhook_url: str | None = None
    country: Country | None = None
    default_currency: Currency | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    state: str | None = None
    zipcode: str | None = None
    email: Email | None = None
    city: str | None = None
    legal_name: str | None = None
    legal_number: str | None = None
    document_numbering: Literal["per_customer", "per_organization"] | None = None
    document_number_prefix: str | None = None
    net_payment_term: int | None = Field(default=None, ge=0)
    tax_identification_number: str | None = None
    timezone: Timezone | None = None
    email_settings: (
        list[Literal["invoice.finalized", "credit_note.created", "payment_receipt.created"]] | None
    ) = None
    billing_configuration: BillingConfigurationInput | None = None
    finalize_zero_amount_invoice: Bool | None = None

    @field_validator("document_number_prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not 1 <= len(value) <= 10:
            raise ValueError("value_length_is_out_of_range")
        return value.upper()
