"""The plan's own fields: casting and Lago's ``Plan`` model rules (pure: no database).

``name``/``code`` required (``value_is_mandatory``), ``code`` unique (``value_already_exist``),
``interval`` one of five (``value_is_invalid``, also when missing), ``amount_cents`` required,
``amount_currency`` an ISO code, ``pay_in_advance`` a boolean (``value_is_invalid`` when missing).
Deliberate additions, where Lago stores nonsense: a non-integer ``amount_cents`` or a non-number
``trial_period`` is ``value_is_invalid``, a negative one ``value_is_out_of_range``.
``bill_charges_monthly`` / ``bill_fixed_charges_monthly`` only exist on yearly and semiannual
plans (``null`` otherwise, ``false`` by default).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billow.core.errors import ErrorCollector
from billow.core.validators import is_currency
from billow.pricing import casting
from billow.pricing.casting import Invalid
from billow.pricing.plans.inputs import enum_text
from billow.pricing.plans.models import INTERVALS, MONTHLY_SPLIT_INTERVALS, Plan

TEXT_FIELDS = ("name", "code", "invoice_display_name", "description", "amount_currency")
# Fields a plan attached to subscriptions may still change (Lago ignores the others).
EDITABLE_WHEN_ATTACHED = frozenset({"name", "invoice_display_name", "description", "amount_cents"})


@dataclass
class PlanDraft:
    name: str | None = None
    code: str | None = None
    invoice_display_name: str | None = None
    description: str | None = None
    interval: str | Invalid | None = None
    amount_cents: int | Invalid | None = None
    amount_currency: str | None = None
    pay_in_advance: bool | None = None
    trial_period: Decimal | Invalid | None = None
    bill_charges_monthly: bool | None = None
    bill_fixed_charges_monthly: bool | None = None

    @classmethod
    def of(cls, plan: Plan) -> PlanDraft:
        return cls(
            name=plan.name,
            code=plan.code,
            invoice_display_name=plan.invoice_display_name,
            description=plan.description,
            interval=plan.interval,
            amount_cents=plan.amount_cents,
            amount_currency=plan.amount_currency,
            pay_in_advance=plan.pay_in_advance,
            trial_period=plan.trial_period,
            bill_charges_monthly=plan.bill_charges_monthly,
            bill_fixed_charges_monthly=plan.bill_fixed_charges_monthly,
        )

    def apply(self, raw: Mapping[str, Any], fields: set[str]) -> None:
        for name in TEXT_FIELDS:
            if name in fields:
                setattr(self, name, casting.text(raw.get(name)))
        if "interval" in fields:
            self.interval = enum_text(raw.get("interval"), INTERVALS)
        if "amount_cents" in fields:
            self.amount_cents = casting.integer(raw.get("amount_cents"))
        if "pay_in_advance" in fields:
            self.pay_in_advance = casting.boolean(raw.get("pay_in_advance"))
        if "trial_period" in fields:
            self.trial_period = casting.decimal(raw.get("trial_period"))

    def set_monthly_split(self, raw: Mapping[str, Any], fields: set[str]) -> None:
        """Lago's ``bill_*_monthly``: kept on yearly/semiannual plans only (sent value, else the
        current one, else false)."""
        split = self.interval in MONTHLY_SPLIT_INTERVALS
        for name in ("bill_charges_monthly", "bill_fixed_charges_monthly"):
            if not split:
                setattr(self, name, None)
            elif name in fields:
                setattr(self, name, bool(casting.boolean(raw.get(name))))
            else:
                setattr(self, name, bool(getattr(self, name)))


def check_plan(draft: PlanDraft, code_taken: Callable[[str], bool]) -> ErrorCollector:
    errors = ErrorCollector()
    if draft.interval is None or isinstance(draft.interval, Invalid):
        errors.add("interval", "value_is_invalid")
    if casting.is_blank(draft.name):
        errors.add("name", "value_is_mandatory")
    if draft.code is None or casting.is_blank(draft.code):
        errors.add("code", "value_is_mandatory")
    elif code_taken(draft.code):
        errors.add("code", "value_already_exist")
    if draft.amount_currency is None or not is_currency(draft.amount_currency):
        errors.add("amount_currency", "value_is_invalid")
    if draft.amount_cents is None:
        errors.add("amount_cents", "value_is_mandatory")
    elif isinstance(draft.amount_cents, Invalid):
        errors.add("amount_cents", "value_is_invalid")
    elif draft.amount_cents < 0:
        errors.add("amount_cents", "value_is_out_of_range")
    if draft.pay_in_advance is None:
        errors.add("pay_in_advance", "value_is_invalid")
    if isinstance(draft.trial_period, Invalid):
        errors.add("trial_period", "value_is_invalid")
    elif draft.trial_period is not None and draft.trial_period < 0:
        errors.add("trial_period", "value_is_out_of_range")
    return errors


def store(plan: Plan, draft: PlanDraft) -> None:
    """Copy a checked draft onto the row."""
    assert draft.name is not None and draft.code is not None and draft.amount_currency is not None
    assert isinstance(draft.interval, str) and isinstance(draft.amount_cents, int)
    assert draft.pay_in_advance is not None and not isinstance(draft.trial_period, Invalid)
    plan.name = draft.name
    plan.code = draft.code
    plan.invoice_display_name = draft.invoice_display_name
    plan.description = draft.description
    plan.interval = draft.interval
    plan.amount_cents = draft.amount_cents
    plan.amount_currency = draft.amount_currency
    plan.pay_in_advance = draft.pay_in_advance
    plan.trial_period = draft.trial_period
    plan.bill_charges_monthly = draft.bill_charges_monthly
    plan.bill_fixed_charges_monthly = draft.bill_fixed_charges_monthly
