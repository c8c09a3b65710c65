"""The automatic credit note of a terminated or upgraded pay-in-advance subscription (billing.md
§6.4.3, Lago's ``CreditNotes::CreateFromTermination``).

Issued from ``TerminationCreditHooks`` in ``billing.bill_subscriptions``, before the
termination/upgrade invoice is computed, so that the invoice consumes it; a termination whose
invoice is skipped (``on_termination_invoice = skip``) issues it from the job
``credit_notes.termination`` instead. Conditions: the plan bills in advance, the option
(``on_termination_credit_note``, blank → ``credit``; an upgrade always credits) is ``credit``,
``refund`` or ``offset``, and the subscription's last subscription fee — non-zero, its invoice not
voided — bills the period holding the termination (Lago's ``pay_in_advance_invoice_issued?``).
The note is ``order_cancellation``, has one item on that fee, and is a draft when that invoice
still is.

Idempotent by construction: the unused amount is net of the items already issued on the fee.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, cast

import structlog
from sqlalchemy import select

from billow.billing.boundaries import property_datetime
from billow.billing.math import TerminationCreditInput, termination_credit_note
from billow.billing.math.termination import OnTermination
from billow.billing.models import Fee, Invoice
from billow.billing.parties import invoice_parties
from billow.billing.subjects import load_billed_subscription
from billow.core.errors import BillowError
from billow.credit_notes.creation import create_credit_note
from billow.credit_notes.models import CreditNote
from billow.credit_notes.repository import credited_by_fee, fee_lines, lock_invoice
from billow.credit_notes.schemas import CreditNoteRequest, ItemRequest
from billow.db.context import Ctx
from billow.jobs.registry import HandlerResult
from billow.pricing.plans.models import Plan
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import local_date

log = structlog.get_logger("billow.credit_notes")

TERMINATION_CREDIT_NOTE_JOB = "credit_notes.termination"
_OPTIONS = ("credit", "refund", "offset")


def _last_subscription_fee(ctx: Ctx, subscription: Subscription) -> Fee | None:
    return ctx.session.scalar(
        select(Fee)
        .where(
            Fee.organization_id == ctx.org_id,
            Fee.subscription_id == subscription.id,
            Fee.fee_type == "subscription",
            Fee.invoice_id.is_not(None),
            Fee.deleted_at.is_(None),
        )
        .order_by(Fee.created_at.desc(), Fee.id.desc())
        .limit(1)
    )


def _covers(fee: Fee, day: date, timezone: str) -> bool:
    """The fee bills the period holding ``day`` (local dates of its boundaries)."""
    start = property_datetime(fee.properties, "from_datetime")
    end = property_datetime(fee.properties, "to_datetime")
    if start is None or end is None:
        return False
    return local_date(start, timezone) <= day <= local_date(end, timezone)


def _option(subscription: Subscription, upgrade: bool) -> OnTermination | None:
    option = subscription.on_termination_credit_note or "credit"
    if option not in _OPTIONS:
        return None
    # Lago refuses refund/offset with an upgrade (NotImplementedError); an upgrade credits.
    return "credit" if upgrade else cast(OnTermination, option)


def termination_credit_note_input(
    ctx: Ctx, subscription: Subscription, fee: Fee, invoice: Invoice, *, upgrade: bool, option: OnTermination
) -> TerminationCreditInput | None:
    """What :func:`billow.billing.math.termination_credit_note` needs, or ``None`` when the fee
    does not bill the period of the termination."""
    assert subscription.terminated_at is not None
    parties = invoice_parties(ctx, invoice)
    billed = load_billed_subscription(ctx, subscription, parties.customer, parties.settings_entity)
    schedule = billed.schedule()
    termination_date = local_date(subscription.terminated_at, billed.timezone)
    if not _covers(fee, termination_date, billed.timezone):
        return None
    period = schedule.period_containing(termination_date)
    started = local_date(billed.started_at, billed.timezone)
    plan_amount = fee.amount_details.get("plan_amount_cents") if fee.amount_details else None
    line = fee_lines(ctx, [fee])[fee.id]
    return TerminationCreditInput(
        fee=line,
        plan_amount_cents=int(plan_amount) if plan_amount is not None else billed.plan.amount_cents,
        period_duration_days=period.days,
        period_start_date=max(period.start, started),
        period_end_date=period.end,
        termination_date=termination_date,
        fee_taxes_precise_amount_cents=fee.taxes_precise_amount_cents,
        credited_amount_cents=credited_by_fee(ctx, [fee.id]).get(fee.id, 0),
        upgrade=upgrade,
        trial_end_date=billed.trial.end_date_marker.date() if billed.trial is not None else None,
        invoice_sub_total_including_taxes_amount_cents=invoice.sub_total_including_taxes_amount_cents,
        invoice_total_paid_amount_cents=invoice.total_paid_amount_cents,
        invoice_voided=invoice.status == "voided",
        on_termination=option,
    )


def issue_termination_credit_note(ctx: Ctx, subscription: Subscription, upgrade: bool) -> CreditNote | None:
    """The note of ``subscription``'s unused pay-in-advance days, if it is owed (see module)."""
    if subscription.status != "terminated" or subscription.terminated_at is None:
        return None
    plan = ctx.session.get(Plan, subscription.plan_id)
    option = _option(subscription, upgrade)
    if plan is None or not plan.pay_in_advance or option is None:
        return None
    fee = _last_subscription_fee(ctx, subscription)
    if fee is None or fee.amount_cents == 0 or fee.invoice_id is None:
        return None
    invoice = lock_invoice(ctx, fee.invoice_id)
    if invoice is None or invoice.status == "voided":
        return None
    inp = termination_credit_note_input(ctx, subscription, fee, invoice, upgrade=upgrade, option=option)
    note = termination_credit_note(inp) if inp is not None else None
    if note is None:
        return None
    request = CreditNoteRequest(
        items=(ItemRequest(fee_id=str(fee.id), amount_cents=note.item.precise_amount_cents),),
        reason="order_cancellation",
        credit_amount_cents=note.requested_credit_amount_cents,
        refund_amount_cents=note.requested_refund_amount_cents,
        offset_amount_cents=note.requested_offset_amount_cents,
        automatic=True,
    )
    try:
        with ctx.session.begin_nested():
            return create_credit_note(ctx, invoice, request)
    except BillowError as exc:
        # A refused automatic note must not block the termination invoice (logged, not raised).
        log.warning("termination_credit_note_refused", subscription_id=str(subscription.id), error=repr(exc))
        return None


def before_termination_invoice(ctx: Ctx, subscription: Subscription, upgrade: bool) -> None:
    """``TerminationCreditHooks.before_invoice`` (wired by the runtime)."""
    issue_termination_credit_note(ctx, subscription, upgrade)


def handle_termination_credit_note(ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
    """``credit_notes.termination``: the note of a termination whose invoice was skipped."""
    subscription = ctx.session.scalar(
        select(Subscription).where(
            Subscription.id == uuid.UUID(str(payload["subscription_id"])),
            Subscription.organization_id == ctx.org_id,
        )
    )
    if subscription is not None:
        issue_termination_credit_note(ctx, subscription, bool(payload.get("upgrade", False)))
    return None
