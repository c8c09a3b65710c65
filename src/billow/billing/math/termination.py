"""The automatic credit note of a terminated or upgraded pay-in-advance subscription
(billing.md §6.4.3).

* ``day_price = plan_amount_cents / period duration`` (the period holding ``terminated_at``);
* unused days ``= period_end_date − termination_date`` (dates in the customer's timezone), one
  more for an upgrade (the upgrade day is credited, the new plan bills it); during a trial the
  count starts at the trial end;
* ``unused = min(day_price × days, fee.amount_cents) − Σ earlier items on the fee``; the item is
  that amount truncated to 5 dp;
* the note's total is ``round(item − coupon share + taxes)`` (as :mod:`.credit_notes` computes
  them), split by ``on_termination``: ``credit`` → all credit; ``refund`` → refund
  ``min(total, paid share − used value)`` and the rest as credit; ``offset`` → the same refund
  and the rest as offset; ``skip`` → no note. ``paid share = fee total incl. taxes / invoice
  sub-total incl. taxes × invoice total paid``; ``used value`` is the value incl. taxes of the
  used days ``termination_date − period start + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from billow.billing.math.credit_notes import (
    CreditNoteAmounts,
    CreditNoteItem,
    compute_credit_note,
    credit_note_taxes,
)
from billow.billing.math.fees import FeeLine, exact, round_cents
from billow.core.money import ZERO

OnTermination = Literal["credit", "refund", "offset", "skip"]


@dataclass(frozen=True, slots=True)
class TerminationCreditInput:
    """The last subscription fee of the terminated subscription and its period.

    * ``fee``: the fee as billed (``amount_cents``, ``precise_amount_cents``,
      ``precise_coupons_amount_cents``, ``taxes``);
    * ``fee_taxes_precise_amount_cents``: the fee's ``taxes_precise_amount_cents``;
    * ``credited_amount_cents``: Σ earlier credit-note items on the fee;
    * ``plan_amount_cents``: the fee's ``amount_details.plan_amount_cents`` (else the plan's);
    * ``period_duration_days``: days of the full period holding ``terminated_at``;
    * ``period_start_date`` / ``period_end_date``: that period's first and last day;
    * ``termination_date``: the customer-timezone date of ``terminated_at``;
    * ``trial_end_date``: the trial's end date when the plan has a trial.
    """

    fee: FeeLine
    plan_amount_cents: int
    period_duration_days: int
    period_start_date: date
    period_end_date: date
    termination_date: date
    fee_taxes_precise_amount_cents: Decimal = ZERO
    credited_amount_cents: int = 0
    upgrade: bool = False
    trial_end_date: date | None = None
    invoice_sub_total_including_taxes_amount_cents: int = 0
    invoice_total_paid_amount_cents: int = 0
    invoice_voided: bool = False
    on_termination: OnTermination = "credit"


@dataclass(frozen=True, slots=True)
class TerminationCreditNote:
    """The note to create: its single item and amounts (after the one-cent fix)."""

    item: CreditNoteItem
    unused_days: int
    used_days: int
    day_price_cents: Decimal
    requested_credit_amount_cents: int
    requested_refund_amount_cents: int
    requested_offset_amount_cents: int
    amounts: CreditNoteAmounts


def unused_days(inp: TerminationCreditInput) -> int:
    """Days from the termination (the day before, for an upgrade) to the period end."""
    billed_from = inp.termination_date
    if inp.upgrade:
        billed_from -= timedelta(days=1)
    if inp.trial_end_date is not None and inp.trial_end_date >= billed_from:
        if inp.trial_end_date > inp.period_end_date:
            billed_from = inp.period_end_date
        else:
            billed_from = inp.trial_end_date - timedelta(days=1)
    return max((inp.period_end_date - billed_from).days, 0)


def used_days(inp: TerminationCreditInput) -> int:
    """Days from the period start (or the trial end, if later) to the termination, inclusive."""
    billed_from = inp.period_start_date
    if inp.trial_end_date is not None and inp.trial_end_date > billed_from:
        billed_from = inp.trial_end_date
    billed_to = min(inp.termination_date, inp.period_end_date)
    return max((billed_to - billed_from).days + 1, 0)


def _truncate5(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.00001"), rounding=ROUND_DOWN)


def _total_with_taxes(fee: FeeLine, amount: Decimal) -> int:
    """``round(item − coupon share + precise taxes)`` for one item of ``amount`` on ``fee``."""
    item = CreditNoteItem(fee=fee, precise_amount_cents=_truncate5(amount))
    taxes = credit_note_taxes([item])
    return round_cents(item.precise_amount_cents - item.coupon_adjustment + taxes.precise_taxes_amount_cents)


@exact
def termination_credit_note(inp: TerminationCreditInput) -> TerminationCreditNote | None:
    """§6.4.3: the automatic note, or ``None`` when there is nothing to give back.

    An upgrade only credits (a refund or offset split with an upgrade raises ``ValueError``,
    as Lago does not support it).
    """
    if inp.on_termination == "skip" or inp.invoice_voided or inp.fee.amount_cents == 0:
        return None
    if inp.upgrade and inp.on_termination in ("refund", "offset"):
        raise ValueError("an upgrade credit note can only be a credit")
    if inp.period_duration_days <= 0:
        raise ValueError("period_duration_days must be positive")
    day_price = Decimal(inp.plan_amount_cents) / Decimal(inp.period_duration_days)
    days = unused_days(inp)
    amount = day_price * days
    if amount <= 0:
        return None
    amount = min(amount, Decimal(inp.fee.amount_cents)) - inp.credited_amount_cents
    if amount <= 0:
        return None
    total = _total_with_taxes(inp.fee, amount)
    used = used_days(inp)
    refund = 0
    if inp.on_termination in ("refund", "offset"):
        paid_share = ZERO
        if inp.invoice_sub_total_including_taxes_amount_cents != 0:
            fee_total = (
                inp.fee.sub_total_excluding_taxes_precise_amount_cents + inp.fee_taxes_precise_amount_cents
            )
            paid_share = (
                fee_total
                / Decimal(inp.invoice_sub_total_including_taxes_amount_cents)
                * Decimal(inp.invoice_total_paid_amount_cents)
            )
        potential = paid_share - _total_with_taxes(inp.fee, day_price * used)
        if potential > 0:
            refund = round_cents(min(potential, Decimal(total)))
    if inp.on_termination == "credit":
        split = (total, 0, 0)
    elif inp.on_termination == "refund":
        split = (total - refund, refund, 0)
    else:
        split = (0, refund, total - refund)
    if sum(split) == 0:
        return None
    item = CreditNoteItem(fee=inp.fee, precise_amount_cents=_truncate5(amount))
    amounts = compute_credit_note(
        [item],
        credit_amount_cents=split[0],
        refund_amount_cents=split[1],
        offset_amount_cents=split[2],
    )
    return TerminationCreditNote(
        item=item,
        unused_days=days,
        used_days=used,
        day_price_cents=day_price,
        requested_credit_amount_cents=split[0],
        requested_refund_amount_cents=split[1],
        requested_offset_amount_cents=split[2],
        amounts=amounts,
    )
