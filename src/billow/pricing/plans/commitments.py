"""A plan's minimum commitment (billing.md §5.1) and usage thresholds (billing.md §5.3).

Thresholds: every ``amount_cents`` present (``usage_thresholds: missing_amount_cents``), no two
with the same amount and recurrence (``duplicated_values``), at most one recurring
(``multiple_recurring_thresholds``), each amount > 0 (``amount_cents: value_is_out_of_range``).
Writing a list replaces the plan's thresholds (old rows are soft-deleted), the recurring one
first, as Lago creates them. Commitment: ``amount_cents`` > 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from billow.core.errors import ValidationFailed
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.casting import Invalid
from billow.pricing.plans.inputs import Raw, cents, cents_errors
from billow.pricing.plans.models import Commitment, Plan, UsageThreshold
from billow.pricing.plans.taxes import apply_tax_codes, drop_taxes

OWNER = "commitment"


@dataclass(frozen=True)
class ThresholdDraft:
    threshold_display_name: str | None
    amount_cents: int
    recurring: bool


def check_thresholds(items: Sequence[Raw]) -> list[ThresholdDraft]:
    """Lago's list checks, then each threshold's own (in creation order: the recurring first)."""
    amounts: list[int | Invalid | None] = []
    recurring: list[bool] = []
    for item in items:
        raw_amount = item.get("amount_cents")
        amounts.append(None if raw_amount is None or raw_amount == "" else cents(raw_amount))
        recurring.append(bool(casting.boolean(item.get("recurring"))))
    if any(a is None for a in amounts):
        raise ValidationFailed({"usage_thresholds": ["missing_amount_cents"]})
    keys = [(repr(a), r) for a, r in zip(amounts, recurring, strict=True)]
    if len(set(keys)) != len(keys):
        raise ValidationFailed({"usage_thresholds": ["duplicated_values"]})
    if sum(recurring) > 1:
        raise ValidationFailed({"usage_thresholds": ["multiple_recurring_thresholds"]})
    order = [i for i, r in enumerate(recurring) if r] + [i for i, r in enumerate(recurring) if not r]
    drafts: list[ThresholdDraft] = []
    for i in order:
        codes = cents_errors(amounts[i], minimum=1)
        if codes:
            raise ValidationFailed({"amount_cents": codes})
        amount = amounts[i]
        assert isinstance(amount, int)
        name = casting.text(items[i].get("threshold_display_name"))
        drafts.append(ThresholdDraft(name, amount, recurring[i]))
    return drafts


def live_thresholds(ctx: Ctx, plan: Plan) -> list[UsageThreshold]:
    return list(
        ctx.session.scalars(
            select(UsageThreshold)
            .where(
                UsageThreshold.organization_id == ctx.org_id,
                UsageThreshold.plan_id == plan.id,
                UsageThreshold.deleted_at.is_(None),
            )
            .order_by(UsageThreshold.created_at, UsageThreshold.id)
        )
    )


def replace_thresholds(ctx: Ctx, plan: Plan, items: Sequence[Raw]) -> None:
    drafts = check_thresholds(items)
    now = ctx.now()
    ctx.session.execute(
        update(UsageThreshold)
        .where(
            UsageThreshold.organization_id == ctx.org_id,
            UsageThreshold.plan_id == plan.id,
            UsageThreshold.deleted_at.is_(None),
        )
        .values(deleted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    for draft in drafts:
        ctx.session.add(
            UsageThreshold(
                organization_id=ctx.org_id,
                plan_id=plan.id,
                threshold_display_name=draft.threshold_display_name,
                amount_cents=draft.amount_cents,
                recurring=draft.recurring,
                created_at=now,
                updated_at=now,
            )
        )
    ctx.session.flush()


def find_commitment(ctx: Ctx, plan: Plan) -> Commitment | None:
    return ctx.session.scalar(
        select(Commitment).where(Commitment.organization_id == ctx.org_id, Commitment.plan_id == plan.id)
    )


def _amount(raw: Raw) -> int:
    value = cents(raw.get("amount_cents"))
    codes = cents_errors(value, minimum=1)
    if codes:
        raise ValidationFailed({"amount_cents": codes})
    assert isinstance(value, int)
    return value


def create_commitment(ctx: Ctx, plan: Plan, raw: Raw) -> Commitment:
    """A new minimum commitment from ``{amount_cents, invoice_display_name, tax_codes}``."""
    amount = _amount(raw)
    now = ctx.now()
    commitment = Commitment(
        organization_id=ctx.org_id,
        plan_id=plan.id,
        amount_cents=amount,
        invoice_display_name=casting.text(raw.get("invoice_display_name")),
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(commitment)
    ctx.session.flush()
    codes = casting.string_list(raw.get("tax_codes"))
    if codes:
        apply_tax_codes(ctx, OWNER, commitment.id, codes)
    return commitment


def update_commitment(ctx: Ctx, plan: Plan, raw: Raw) -> Commitment | None:
    """Lago's plan update: ``{}`` removes the commitment; otherwise the sent fields change (a
    commitment is created when the plan has none) and ``tax_codes``, when sent, replace its taxes."""
    current = find_commitment(ctx, plan)
    if not raw:
        if current is not None:
            drop_taxes(ctx, OWNER, [current.id])
            ctx.session.delete(current)
            ctx.session.flush()
        return None
    if current is None:
        return create_commitment(ctx, plan, raw)
    if "amount_cents" in raw:
        current.amount_cents = _amount(raw)
    if "invoice_display_name" in raw:
        current.invoice_display_name = casting.text(raw.get("invoice_display_name"))
    current.updated_at = ctx.now()
    ctx.session.flush()
    codes = casting.string_list(raw.get("tax_codes"))
    if codes is not None:
        apply_tax_codes(ctx, OWNER, current.id, codes)
    return current
