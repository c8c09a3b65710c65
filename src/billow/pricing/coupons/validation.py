"""Lago's coupon and applied-coupon field rules (pure: no database).

Codes follow Lago's models: enums → ``value_is_invalid``; presence → ``value_is_mandatory``;
numericality → Rails' untranslated ``is not a number`` / ``value_is_out_of_range``;
``reusable: null`` → ``value_is_reserved`` (an exclusion rule). Deliberate divergences: Lago casts
an unparseable ``percentage_rate`` to 0 and accepts a negative one; Billow answers
``value_is_invalid`` / ``value_is_out_of_range`` (and refuses rates Lago's numeric(10, 5) column
could not hold instead of failing with a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from billow.core.errors import ErrorCollector
from billow.core.money import round_half_up
from billow.core.validators import is_currency
from billow.pricing import casting
from billow.pricing.casting import INVALID, NOT_A_NUMBER, Invalid
from billow.pricing.coupons.models import COUPON_TYPES, EXPIRATIONS, FREQUENCIES, Coupon
from billow.pricing.coupons.schemas import AppliedCouponInput, CouponInput

PERCENTAGE_PLACES = 5
PERCENTAGE_LIMIT = Decimal(100_000)
# Fields a coupon already applied to a customer may still change (Lago ignores the others).
EDITABLE_ONCE_APPLIED = frozenset({"name", "description", "expiration", "expiration_at"})


def enum_value(raw: Any, allowed: tuple[str, ...]) -> str | Invalid:
    value = casting.text(raw)
    return value if value in allowed else INVALID


def percentage(raw: Any) -> Decimal | Invalid | None:
    value = casting.decimal(raw)
    if not isinstance(value, Decimal):
        return value
    return round_half_up(value, PERCENTAGE_PLACES)


def _percentage_error(value: Decimal | Invalid | None) -> str | None:
    if isinstance(value, Invalid):
        return "value_is_invalid"
    if value is not None and (value < 0 or value >= PERCENTAGE_LIMIT):
        return "value_is_out_of_range"
    return None


def invalid_expiration_at(raw: Any, now: datetime) -> bool:
    """Lago's expiration date check: blank is fine, else a parseable date in the future."""
    value = casting.datetime_value(raw)
    if value is None:
        return False
    return isinstance(value, Invalid) or value <= now


@dataclass
class CouponState:
    """A coupon's fields after the request's changes, before validation."""

    name: str | None = None
    code: str | None = None
    description: str | None = None
    coupon_type: str | Invalid = INVALID
    amount_cents: int | Invalid | None = None
    amount_currency: str | None = None
    percentage_rate: Decimal | Invalid | None = None
    frequency: str | Invalid = INVALID
    frequency_duration: int | Invalid | None = None
    expiration: str | Invalid = INVALID
    expiration_at: datetime | Invalid | None = None
    reusable: bool | None = True

    @classmethod
    def of(cls, coupon: Coupon) -> CouponState:
        return cls(
            name=coupon.name,
            code=coupon.code,
            description=coupon.description,
            coupon_type=coupon.coupon_type,
            amount_cents=coupon.amount_cents,
            amount_currency=coupon.amount_currency,
            percentage_rate=coupon.percentage_rate,
            frequency=coupon.frequency,
            frequency_duration=coupon.frequency_duration,
            expiration=coupon.expiration,
            expiration_at=coupon.expiration_at,
            reusable=coupon.reusable,
        )

    def apply(self, data: CouponInput, fields: set[str]) -> None:
        """Copy the sent fields (``fields``) of ``data``, cast as Lago's model casts them."""
        for name in ("name", "code", "description", "amount_currency"):
            if name in fields:
                setattr(self, name, casting.text(getattr(data, name)))
        if "coupon_type" in fields:
            self.coupon_type = enum_value(data.coupon_type, COUPON_TYPES)
        if "frequency" in fields:
            self.frequency = enum_value(data.frequency, FREQUENCIES)
        if "expiration" in fields:
            self.expiration = enum_value(data.expiration, EXPIRATIONS)
        if "amount_cents" in fields:
            self.amount_cents = casting.integer(data.amount_cents)
        if "percentage_rate" in fields:
            self.percentage_rate = percentage(data.percentage_rate)
        if "frequency_duration" in fields:
            self.frequency_duration = casting.integer(data.frequency_duration)
        if "expiration_at" in fields:
            self.expiration_at = casting.datetime_value(data.expiration_at)
        if "reusable" in fields:
            self.reusable = casting.boolean(data.reusable)


def check_coupon(state: CouponState, code_taken: Callable[[str], bool]) -> ErrorCollector:
    """The Coupon model's rules on the final state, in Lago's order of error keys."""
    errors = ErrorCollector()
    for name in ("expiration", "coupon_type", "frequency"):
        if isinstance(getattr(state, name), Invalid):
            errors.add(name, "value_is_invalid")
    if casting.is_blank(state.name):
        errors.add("name", "value_is_mandatory")
    if state.code is None or casting.is_blank(state.code):
        errors.add("code", "value_is_mandatory")
    elif code_taken(state.code):
        errors.add("code", "value_already_exist")
    fixed = state.coupon_type == "fixed_amount"
    if state.amount_cents is None:
        if fixed:
            errors.add("amount_cents", "value_is_mandatory")
    elif isinstance(state.amount_cents, Invalid):
        errors.add("amount_cents", NOT_A_NUMBER)
    elif state.amount_cents <= 0:
        errors.add("amount_cents", "value_is_out_of_range")
    if state.amount_currency is None:
        if fixed:
            errors.add("amount_currency", "value_is_mandatory")
    elif not is_currency(state.amount_currency):
        errors.add("amount_currency", "value_is_invalid")
    if state.percentage_rate is None and state.coupon_type == "percentage":
        errors.add("percentage_rate", "value_is_mandatory")
    rate_error = _percentage_error(state.percentage_rate)
    if rate_error:
        errors.add("percentage_rate", rate_error)
    if state.frequency == "recurring":
        _check_duration(errors, "frequency_duration", state.frequency_duration, minimum=1)
    if state.reusable is None:
        errors.add("reusable", "value_is_reserved")
    if isinstance(state.expiration_at, Invalid):
        errors.add("expiration_at", "invalid_date")
    return errors


def _check_duration(errors: ErrorCollector, name: str, value: int | Invalid | None, *, minimum: int) -> None:
    if value is None:
        errors.add(name, "value_is_mandatory")
        errors.add(name, NOT_A_NUMBER)
    elif isinstance(value, Invalid):
        errors.add(name, NOT_A_NUMBER)
    elif value < minimum:
        errors.add(name, "value_is_out_of_range")


@dataclass(frozen=True)
class AppliedTerms:
    """What an applied coupon grants: the coupon's terms, overridden by the request's."""

    amount_cents: int | Invalid | None
    amount_currency: str | None
    percentage_rate: Decimal | Invalid | None
    frequency: str | Invalid
    frequency_duration: int | Invalid | None


def applied_terms(data: AppliedCouponInput, coupon: Coupon) -> AppliedTerms:
    """Lago's ``params[:x] || coupon.x``: a null or absent override keeps the coupon's value."""

    def pick(raw: Any, cast: Callable[[Any], Any], default: Any) -> Any:
        value = cast(raw)
        return default if value is None else value

    return AppliedTerms(
        amount_cents=pick(data.amount_cents, casting.integer, coupon.amount_cents),
        amount_currency=pick(data.amount_currency, casting.text, coupon.amount_currency),
        percentage_rate=pick(data.percentage_rate, percentage, coupon.percentage_rate),
        frequency=coupon.frequency if data.frequency is None else enum_value(data.frequency, FREQUENCIES),
        frequency_duration=pick(data.frequency_duration, casting.integer, coupon.frequency_duration),
    )


def check_applied_terms(terms: AppliedTerms) -> ErrorCollector:
    """The AppliedCoupon model's rules (``frequency_duration_remaining`` starts at the duration)."""
    errors = ErrorCollector()
    if isinstance(terms.frequency, Invalid):
        errors.add("frequency", "value_is_invalid")
    if isinstance(terms.amount_cents, Invalid):
        errors.add("amount_cents", NOT_A_NUMBER)
    elif terms.amount_cents is not None and terms.amount_cents < 0:
        errors.add("amount_cents", "value_is_out_of_range")
    if terms.amount_currency is not None and not is_currency(terms.amount_currency):
        errors.add("amount_currency", "value_is_invalid")
    rate_error = _percentage_error(terms.percentage_rate)
    if rate_error:
        errors.add("percentage_rate", rate_error)
    if terms.frequency == "recurring":
        _check_duration(errors, "frequency_duration", terms.frequency_duration, minimum=1)
        _check_duration(errors, "frequency_duration_remaining", terms.frequency_duration, minimum=0)
    return errors
