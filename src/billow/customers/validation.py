"""Lago's customer rules: input normalization and the field checks of its Customer model (pure).

``column_changes`` turns an input into ``{column: new value}`` for the fields that were sent;
``check_columns`` reports Lago's error codes for those values, all fields at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from billow.core.currencies import COUNTRY_CODES
from billow.core.errors import ErrorCollector
from billow.core.validators import is_currency, is_timezone
from billow.customers.schemas import CustomerInput

CUSTOMER_TYPES = ("company", "individual")
ACCOUNT_TYPES = ("customer", "partner")
FINALIZE_ZERO_AMOUNT_INVOICE = ("inherit", "skip", "finalize")
ISSUING_DATE_ANCHORS = ("current_period_end", "next_period_start")
ISSUING_DATE_ADJUSTMENTS = ("keep_anchor", "align_with_finalization_date")
PAYMENT_PROVIDERS = ("stripe", "gocardless", "cashfree", "adyen", "flutterwave", "moneyhash")
DOCUMENT_LOCALES = ("en", "fr", "nb", "de", "it", "es", "sv", "pt-BR", "zh-TW")
METADATA_MAX_ITEMS = 5
METADATA_KEY_MAX = 20
METADATA_VALUE_MAX = 100

_TEXT_FIELDS = (
    "name",
    "firstname",
    "lastname",
    "legal_name",
    "legal_number",
    "tax_identification_number",
    "phone",
    "url",
    "logo_url",
    "external_salesforce_id",
    "timezone",
    "currency",
    "net_payment_term",
)
_ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "zipcode")
_SHIPPING_FIELDS = ("address_line1", "address_line2", "city", "state", "zipcode", "country")
_BILLING_FIELDS = (
    "invoice_grace_period",
    "subscription_invoice_issuing_date_anchor",
    "subscription_invoice_issuing_date_adjustment",
    "document_locale",
)

_LOCAL = r"(?:[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*|\"(?:[^\"\\\r\n]|\\.)*\")"
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_DOMAIN = rf"(?:(?:{_LABEL}\.)+{_LABEL}|\[(?:\d{{1,3}}\.){{3}}\d{{1,3}}\])"
_EMAIL = re.compile(_LOCAL + "@" + _DOMAIN, re.IGNORECASE)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u00a0\u200e\u200f\ufeff]")
_DASHES = re.compile("[\u2012\u2013\u2014\u2015\u2043\u2212]")


def _clean(value: Any) -> Any:
    """Strip NUL bytes (PostgreSQL refuses them in text)."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def _address(value: str | None) -> str | None:
    """Address parts: NUL bytes removed, blank becomes null."""
    if value is None:
        return None
    cleaned = value.replace("\x00", "")
    return cleaned if cleaned.strip() else None


def _country(value: str | None) -> str | None:
    cleaned = _address(value)
    return cleaned.upper() if cleaned is not None else None


def sanitize_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return value
    return _INVISIBLE.sub("", _DASHES.sub("-", value)).strip()


def is_lago_email_list(value: str) -> bool:
    """Comma-separated addresses; an empty element (``"a@b.co,"``) is invalid."""
    return all(_EMAIL.fullmatch(part.strip()) for part in value.split(","))


def column_changes(data: CustomerInput, *, is_new: bool) -> dict[str, Any]:
    """The customer columns this input sets, normalized as Lago stores them."""
    sent = data.model_fields_set
    changes: dict[str, Any] = {}
    for field in _TEXT_FIELDS:
        if field in sent:
            changes[field] = _clean(getattr(data, field))
    for field in _ADDRESS_FIELDS:
        if field in sent:
            changes[field] = _address(getattr(data, field))
    if "country" in sent:
        changes["country"] = _country(data.country)
    if "email" in sent:
        changes["email"] = sanitize_email(_clean(data.email))
    if "customer_type" in sent:
        changes["customer_type"] = data.customer_type or None
    if "account_type" in sent and data.account_type is not None:
        changes["account_type"] = data.account_type
    if "finalize_zero_amount_invoice" in sent:
        changes["finalize_zero_amount_invoice"] = data.finalize_zero_amount_invoice or "inherit"
    if data.invoice_custom_section_codes is not None:
        changes["skip_invoice_custom_sections"] = False
    elif data.skip_invoice_custom_sections is not None:
        changes["skip_invoice_custom_sections"] = data.skip_invoice_custom_sections
    shipping = data.shipping_address
    if shipping is not None:
        for field in _SHIPPING_FIELDS:
            if field in shipping.model_fields_set:
                raw = getattr(shipping, field)
                changes[f"shipping_{field}"] = _country(raw) if field == "country" else _address(raw)
    billing = data.billing_configuration
    if billing is not None:
        for field in _BILLING_FIELDS:
            if field in billing.model_fields_set:
                changes[field] = _clean(getattr(billing, field))
        if not is_new and "payment_provider" in billing.model_fields_set:
            # Lago: an unknown provider unsets it; the code follows the provider.
            provider = billing.payment_provider if billing.payment_provider in PAYMENT_PROVIDERS else None
            changes["payment_provider"] = provider
            if provider is None:
                changes["payment_provider_code"] = None
            elif "payment_provider_code" in billing.model_fields_set:
                changes["payment_provider_code"] = billing.payment_provider_code
    return changes


def precheck(data: CustomerInput) -> ErrorCollector:
    """Lago's early refusals, before any field check (each alone in its answer)."""
    errors = ErrorCollector()
    if data.metadata and len(data.metadata) > METADATA_MAX_ITEMS:
        errors.add("metadata", "invalid_count")
    elif data.finalize_zero_amount_invoice is not None and (
        data.finalize_zero_amount_invoice not in FINALIZE_ZERO_AMOUNT_INVOICE
    ):
        errors.add("finalize_zero_amount_invoice", "invalid_value")
    elif data.integration_customers:
        types = [item.get("integration_type") for item in data.integration_customers]
        if len(types) != len(set(map(str, types))):
            errors.add("integration_customers", "invalid_count_per_integration_type")
    return errors


def _enum(errors: ErrorCollector, values: Mapping[str, Any], field: str, allowed: tuple[str, ...]) -> None:
    if field in values and values[field] is not None and values[field] not in allowed:
        errors.add(field, "value_is_invalid")


def _not_negative(errors: ErrorCollector, values: Mapping[str, Any], field: str) -> None:
    if values.get(field) is not None and values[field] < 0:
        errors.add(field, "value_is_out_of_range")


def check_columns(values: Mapping[str, Any], *, external_id: str | None, is_new: bool) -> ErrorCollector:
    """Field checks of Lago's Customer model, in its order, over the values being written."""
    errors = ErrorCollector()
    _enum(errors, values, "customer_type", CUSTOMER_TYPES)
    _enum(errors, values, "account_type", ACCOUNT_TYPES)
    _enum(errors, values, "subscription_invoice_issuing_date_anchor", ISSUING_DATE_ANCHORS)
    _enum(errors, values, "subscription_invoice_issuing_date_adjustment", ISSUING_DATE_ADJUSTMENTS)
    for field in ("country", "shipping_country"):
        if values.get(field) is not None and values[field] not in COUNTRY_CODES:
            errors.add(field, "not_a_valid_country_code")
    if values.get("document_locale") is not None and values["document_locale"] not in DOCUMENT_LOCALES:
        errors.add("document_locale", "not_a_valid_language_code")
    if values.get("currency") is not None and not is_currency(values["currency"]):
        errors.add("currency", "value_is_invalid")
    if is_new and (external_id is None or not external_id.strip()):
        errors.add("external_id", "value_is_mandatory")
    _not_negative(errors, values, "invoice_grace_period")
    _not_negative(errors, values, "net_payment_term")
    _enum(errors, values, "payment_provider", PAYMENT_PROVIDERS)
    if values.get("timezone") is not None and not is_timezone(values["timezone"]):
        errors.add("timezone", "invalid_timezone")
    email = values.get("email")
    if email is not None and email.strip() and not is_lago_email_list(email):
        errors.add("email", "invalid_email_format")
    return errors


def check_metadata_item(key: str | None, value: str | None) -> ErrorCollector:
    """Checks of one metadata record (Lago reports the first failing record alone)."""
    errors = ErrorCollector()
    if key is None or not key.strip():
        errors.add("key", "value_is_mandatory")
    elif len(key) > METADATA_KEY_MAX:
        errors.add("key", "value_is_too_long")
    if value is None or not value.strip():
        errors.add("value", "value_is_mandatory")
    elif len(value) > METADATA_VALUE_MAX:
        errors.add("value", "value_is_too_long")
    return errors


def provider_refusal(data: CustomerInput) -> str | None:
    """A provider customer is asked for (sync or an id), but no payment provider exists yet."""
    billing = data.billing_configuration
    if billing is None or billing.payment_provider is None:
        return None
    if billing.sync_with_provider or (billing.provider_customer_id or "").strip():
        return "payment_provider_not_found"
    return None


def sections_conflict(data: CustomerInput) -> bool:
    return bool(data.skip_invoice_custom_sections) and data.invoice_custom_section_codes is not None
