"""``GET /customers``: Lago's filters, their 422 messages, and the filtered, paginated query."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from billow.core.currencies import COUNTRY_CODES, CURRENCY_CODES
from billow.core.errors import ValidationFailed
from billow.core.pagination import PageParams
from billow.core.validators import escape_like, one_of_message
from billow.customers.billing_entities import billing_entity_ids_for_codes
from billow.customers.models import Customer, CustomerMetadata
from billow.customers.validation import ACCOUNT_TYPES, CUSTOMER_TYPES
from billow.db.context import Ctx
from billow.db.pages import page_of

_ARRAYS = ("account_type", "billing_entity_codes", "countries", "states", "zipcodes", "currencies")
_METADATA = re.compile(r"^metadata\[([^\]]*)\](.*)$")
_BOOLEANS = ("true", "false")
SEARCHABLE = ("name", "firstname", "lastname", "legal_name", "external_id", "email")


@dataclass
class CustomerFilters:
    arrays: dict[str, list[str]] = field(default_factory=dict)
    search_term: str | None = None
    external_id: str | None = None
    customer_type: str | None = None
    has_customer_type: str | None = None
    has_tax_identification_number: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def _check_items(
    details: dict[str, Any], name: str, values: list[str] | None, allowed: Iterable[str]
) -> None:
    if values is None:
        return
    allowed_set = set(allowed)
    message = one_of_message(allowed if isinstance(allowed, tuple) else sorted(allowed_set))
    bad = {str(i): [message] for i, v in enumerate(values) if v not in allowed_set}
    if bad:
        details[name] = bad


def parse_filters(items: Iterable[tuple[str, str]]) -> CustomerFilters:
    """Query string pairs → filters. Invalid values → 422 with Lago's (dry-validation) messages."""
    filters = CustomerFilters()
    metadata_errors: dict[str, list[str]] = {}
    for key, value in items:
        if key.endswith("[]") and key[:-2] in _ARRAYS:
            filters.arrays.setdefault(key[:-2], []).append(value)
        elif key in ("search_term", "external_id", "customer_type", "has_customer_type"):
            setattr(filters, key, value)
        elif key == "has_tax_identification_number":
            filters.has_tax_identification_number = value
        elif (match := _METADATA.match(key)) is not None:
            if match.group(2):
                metadata_errors[match.group(1)] = ["must be a string"]
            else:
                filters.metadata[match.group(1)] = value
    details: dict[str, Any] = {}
    arrays = filters.arrays
    _check_items(details, "account_type", arrays.get("account_type"), ACCOUNT_TYPES)
    _check_items(details, "countries", arrays.get("countries"), COUNTRY_CODES)
    _check_items(details, "currencies", arrays.get("currencies"), CURRENCY_CODES)
    if filters.has_tax_identification_number not in (None, *_BOOLEANS):
        details["has_tax_identification_number"] = [one_of_message(_BOOLEANS)]
    if metadata_errors:
        details["metadata"] = metadata_errors
    if filters.has_customer_type not in (None, *_BOOLEANS):
        details["has_customer_type"] = [one_of_message(_BOOLEANS)]
    if filters.customer_type is not None:
        if filters.customer_type not in CUSTOMER_TYPES:
            details["customer_type"] = [one_of_message(CUSTOMER_TYPES)]
        elif filters.has_customer_type == "false":
            details["customer_type"] = ["must be nil when has_customer_type is false"]
    if details:
        raise ValidationFailed(details)
    return filters


def customer_ids_like(ctx: Ctx, like: str) -> Select[Any]:
    """Ids of the organization's customers whose name, first or last name, external id or email
    matches the (lower-case, escaped) ``LIKE`` pattern, case-insensitively: the customer part of
    the invoices' and credit notes' ``search_term``."""
    columns = (Customer.name, Customer.firstname, Customer.lastname, Customer.external_id, Customer.email)
    return select(Customer.id).where(
        Customer.organization_id == ctx.org_id,
        or_(*(func.lower(col).like(like, escape="\\") for col in columns)),
    )


def _with_metadata(ctx: Ctx, stmt: Any, metadata: dict[str, str]) -> Any:
    present = [(k, v) for k, v in metadata.items() if v != ""]
    absent = [k for k, v in metadata.items() if v == ""]
    if present:
        matching = (
            select(CustomerMetadata.customer_id)
            .where(
                CustomerMetadata.organization_id == ctx.org_id,
                or_(*(and_(CustomerMetadata.key == k, CustomerMetadata.value == v) for k, v in present)),
            )
            .group_by(CustomerMetadata.customer_id)
            .having(func.count(func.distinct(CustomerMetadata.key)) == len(present))
        )
        stmt = stmt.where(Customer.id.in_(matching))
    if absent:
        having_key = select(CustomerMetadata.customer_id).where(
            CustomerMetadata.organization_id == ctx.org_id, CustomerMetadata.key.in_(absent)
        )
        stmt = stmt.where(Customer.id.not_in(having_key))
    return stmt


def list_customers(ctx: Ctx, filters: CustomerFilters, page: PageParams) -> tuple[list[Customer], int]:
    stmt = select(Customer).where(Customer.organization_id == ctx.org_id, Customer.deleted_at.is_(None))
    arrays = filters.arrays
    if arrays.get("billing_entity_codes"):
        stmt = stmt.where(
            Customer.billing_entity_id.in_(billing_entity_ids_for_codes(ctx, arrays["billing_entity_codes"]))
        )
    if filters.external_id:
        stmt = stmt.where(Customer.external_id == filters.external_id)
    elif filters.search_term and filters.search_term.strip():
        pattern = f"%{escape_like(filters.search_term.strip())}%"
        stmt = stmt.where(or_(*(getattr(Customer, col).ilike(pattern, escape="\\") for col in SEARCHABLE)))
    if filters.customer_type:
        stmt = stmt.where(Customer.customer_type == filters.customer_type)
    elif filters.has_customer_type is not None:
        has = filters.has_customer_type == "true"
        stmt = stmt.where(Customer.customer_type.is_not(None) if has else Customer.customer_type.is_(None))
    for name, column in (
        ("account_type", Customer.account_type),
        ("countries", Customer.country),
        ("states", Customer.state),
        ("zipcodes", Customer.zipcode),
        ("currencies", Customer.currency),
    ):
        if arrays.get(name):
            stmt = stmt.where(column.in_(arrays[name]))
    if filters.has_tax_identification_number is not None:
        has = filters.has_tax_identification_number == "true"
        tin = Customer.tax_identification_number
        stmt = stmt.where(tin.is_not(None) if has else tin.is_(None))
    if filters.metadata:
        stmt = _with_metadata(ctx, stmt, filters.metadata)
    return page_of(ctx.session, stmt, page, Customer.created_at.desc(), Customer.id)
