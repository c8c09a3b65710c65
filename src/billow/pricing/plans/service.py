"""Plans: create (with nested charges, fixed charges, thresholds, commitment, taxes, metadata),
read, update (Lago's replace semantics for the nested lists), delete, and metadata writes.

Lago's order of checks, each failure raising before anything is kept (the unit of work rolls back
whatever an earlier step wrote): unknown metrics / add-ons of the nested lists (404
``billable_metrics_not_found`` / ``add_ons_not_found``), the plan's fields (422), metadata (422),
``tax_codes`` (404 ``tax_not_found``), then thresholds, charges, fixed charges and the minimum
commitment in Lago's order. ``plan.created`` / ``plan.updated`` / ``plan.deleted`` are queued
once, at the end, in the same transaction.

A plan is "attached to subscriptions" once a subscription uses it (the subscriptions package
answers through ``PlanHooks``); then only its name, invoice display name, description and amount
change. Hook for billing: Lago flags the plan's draft invoices ``ready_to_be_refreshed`` after
every update.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from billow.core.errors import NotFound, ValidationFailed
from billow.core.pagination import PageParams
from billow.db.context import Ctx
from billow.jobs.queue import enqueue
from billow.pricing import casting
from billow.pricing.plans import cascade
from billow.pricing.plans.charges import create_charge, delete_charge, update_charge
from billow.pricing.plans.commitments import create_commitment, replace_thresholds, update_commitment
from billow.pricing.plans.fixed_charges import create_fixed_charge, delete_fixed_charge, update_fixed_charge
from billow.pricing.plans.hooks import PlanHooks
from billow.pricing.plans.inputs import Raw, as_dict, dict_list, present_text
from billow.pricing.plans.metadata import delete_metadata_key, metadata_input, write_metadata
from billow.pricing.plans.models import Charge, Plan
from billow.pricing.plans.plan_fields import EDITABLE_WHEN_ATTACHED, PlanDraft, check_plan, store
from billow.pricing.plans.repository import (
    find_parent_plan,
    live_add_ons,
    live_charges,
    live_fixed_charges,
    live_parent_plans,
    metrics_by_id,
    plan_code_taken,
    uuid_or_none,
)
from billow.pricing.plans.schemas import PlanInput
from billow.pricing.plans.taxes import resolve_codes, set_taxes
from billow.webhooks.emitter import emit

DELETE_CASCADE_JOB = "plans.delete_cascade"
PlanHook = Callable[[Ctx, Plan], None]


def attached_to_subscriptions(ctx: Ctx, plan: Plan) -> bool:
    """True once a subscription uses the plan, as the subscriptions package answers through
    ``PlanHooks`` (then only name, invoice_display_name, description and amount_cents change, as
    in Lago; other fields sent are silently ignored)."""
    return any(attached(ctx, plan.id) for attached in ctx.hooks.get(PlanHooks).attached_to_subscriptions)


def get_plan_by_code(ctx: Ctx, code: str) -> Plan:
    plan = find_parent_plan(ctx, code)
    if plan is None:
        raise NotFound("plan")
    return plan


def _ids(items: Sequence[Raw] | None, key: str) -> list[str]:
    """The distinct non-blank scalar values of ``key`` (Lago's ``map.compact.uniq``)."""
    values = (casting.text(item.get(key)) for item in items or [])
    return list(dict.fromkeys(v for v in values if v))


def check_chargeables(ctx: Ctx, charges: Sequence[Raw] | None, fixed: Sequence[Raw] | None) -> None:
    """Lago's ``ChargeablesValidationService``: every metric and add-on named must exist."""
    metric_ids = _ids(charges, "billable_metric_id")
    if metric_ids and len(metrics_by_id(ctx, metric_ids)) != len(metric_ids):
        raise NotFound("billable_metrics")
    raw_ids = _ids(fixed, "add_on_id")
    if raw_ids:
        parsed = [u for r in raw_ids if (u := uuid_or_none(r)) is not None]
        if len(parsed) != len(raw_ids) or len(live_add_ons(ctx, ids=parsed)) != len(raw_ids):
            raise NotFound("add_ons")
    codes = _ids(fixed, "add_on_code")
    if codes and len(live_add_ons(ctx, codes=codes)) != len(codes):
        raise NotFound("add_ons")


def _flush(ctx: Ctx) -> None:
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"code": ["value_already_exist"]}) from exc


def _plan_taxes(ctx: Ctx, plan: Plan, sent: Raw) -> None:
    codes = casting.string_list(sent.get("tax_codes"))
    if codes is not None and "tax_codes" in sent:
        set_taxes(ctx, "plan", plan.id, resolve_codes(ctx, codes))


def create_plan(ctx: Ctx, data: PlanInput) -> Plan:
    sent = data.sent()
    fields = set(sent)
    charges, fixed = dict_list(sent.get("charges")), dict_list(sent.get("fixed_charges"))
    check_chargeables(ctx, charges, fixed)
    draft = PlanDraft()
    draft.apply(sent, fields)
    draft.set_monthly_split(sent, fields)
    check_plan(draft, lambda code: plan_code_taken(ctx, code, None)).raise_if_any()
    now = ctx.now()
    plan = Plan(organization_id=ctx.org_id, pending_deletion=False, created_at=now, updated_at=now)
    store(plan, draft)
    metadata_sent, metadata = metadata_input(sent.get("metadata"))
    if metadata_sent and metadata is not None:
        write_metadata(plan, metadata, partial=False)
    ctx.session.add(plan)
    _flush(ctx)
    _plan_taxes(ctx, plan, sent)
    thresholds = dict_list(sent.get("usage_thresholds"))
    if thresholds:
        replace_thresholds(ctx, plan, thresholds)
    for raw in charges or []:
        create_charge(ctx, plan, raw)
    for raw in fixed or []:
        create_fixed_charge(ctx, plan, raw)
    commitment = as_dict(sent.get("minimum_commitment"))
    if commitment:
        create_commitment(ctx, plan, commitment)
    emit(ctx, "plan.created", plan)
    return plan


def _sync_charges(ctx: Ctx, plan: Plan, items: list[dict[str, Any]], cascading: bool) -> None:
    """Charges matched by ``id`` (else, a Billow addition, by ``code``) are updated, the others
    created; live charges left out are deleted."""
    current = live_charges(ctx.session, [plan.id])
    by_id = {str(c.id): c for c in current}
    by_code = {c.code: c for c in current}
    seen: set[Any] = set()
    for raw in items:
        charge = _match(raw, by_id, by_code, seen)
        if charge is not None:
            before = cascade.charge_snapshot(charge)
            update_charge(ctx, charge, raw)
            if cascading:
                cascade.charge_updated(ctx, charge, before)
        else:
            charge = create_charge(ctx, plan, raw)
            if cascading:
                cascade.charge_created(ctx, plan, charge, raw)
        seen.add(charge.id)
    for charge in current:
        if charge.id not in seen:
            delete_charge(ctx, charge)
            if cascading:
                cascade.charge_deleted(ctx, charge)


def _match(raw: Raw, by_id: dict[str, Any], by_code: dict[str, Any], seen: set[Any]) -> Any:
    row = by_id.get(str(raw.get("id")).lower()) if raw.get("id") is not None else None
    if row is None and raw.get("id") is None:
        code = present_text(raw, "code")
        row = by_code.get(code) if code is not None else None
    return None if row is None or row.id in seen else row


def _sync_fixed_charges(ctx: Ctx, plan: Plan, items: list[dict[str, Any]], cascading: bool) -> None:
    current = live_fixed_charges(ctx.session, [plan.id])
    by_id = {str(f.id): f for f in current}
    by_code = {f.code: f for f in current}
    seen: set[Any] = set()
    for raw in items:
        fixed = _match(raw, by_id, by_code, seen)
        if fixed is not None:
            before = cascade.fixed_charge_snapshot(fixed)
            update_fixed_charge(ctx, fixed, raw)
            if cascading:
                cascade.fixed_charge_updated(ctx, fixed, before)
        else:
            fixed = create_fixed_charge(ctx, plan, raw)
            if cascading:
                cascade.fixed_charge_created(ctx, plan, fixed, raw)
        seen.add(fixed.id)
    for fixed in current:
        if fixed.id not in seen:
            delete_fixed_charge(ctx, fixed)
            if cascading:
                cascade.fixed_charge_deleted(ctx, fixed)


def update_plan(ctx: Ctx, code: str, data: PlanInput) -> Plan:
    """``PUT /plans/{code}``: sent fields change; ``charges`` / ``fixed_charges`` /
    ``usage_thresholds`` replace the lists, ``minimum_commitment: {}`` removes it; with
    ``cascade_updates`` the changes reach the plan's children (see ``cascade``)."""
    plan = get_plan_by_code(ctx, code)
    sent = data.sent()
    fields = set(sent)
    plan_fields = fields & EDITABLE_WHEN_ATTACHED if attached_to_subscriptions(ctx, plan) else fields
    old_amount = plan.amount_cents
    draft = PlanDraft.of(plan)
    draft.apply(sent, plan_fields)
    if plan_fields is fields:
        draft.set_monthly_split(sent, fields)
    charges = dict_list(sent.get("charges"))
    fixed = dict_list(sent.get("fixed_charges"))
    check_chargeables(ctx, charges, fixed)
    check_plan(draft, lambda c: plan_code_taken(ctx, c, plan.id)).raise_if_any()
    metadata_sent, metadata = metadata_input(sent.get("metadata"))
    if metadata_sent and "metadata" in fields:
        write_metadata(plan, metadata, partial=False)
    store(plan, draft)
    plan.updated_at = ctx.now()
    _flush(ctx)
    _plan_taxes(ctx, plan, sent)
    cascading = bool(casting.boolean(sent.get("cascade_updates"))) and cascade.has_children(ctx, plan)
    if charges is not None:
        _sync_charges(ctx, plan, charges, cascading)
    if fixed is not None:
        _sync_fixed_charges(ctx, plan, fixed, cascading)
    thresholds = sent.get("usage_thresholds")
    if "usage_thresholds" in fields and (thresholds is None or isinstance(thresholds, list)):
        replace_thresholds(ctx, plan, dict_list(thresholds) or [])
    commitment = as_dict(sent.get("minimum_commitment"))
    if commitment is not None:
        update_commitment(ctx, plan, commitment)
    if cascading and old_amount != plan.amount_cents:
        cascade.amount_changed(ctx, plan, old_amount)
    emit(ctx, "plan.updated", plan)
    return plan


def delete_plan(ctx: Ctx, code: str) -> Plan:
    """Lago's ``PrepareDestroyService``: the plan and its children turn ``pending_deletion``,
    ``plans.delete_cascade`` is queued and ``plan.deleted`` is sent."""
    plan = get_plan_by_code(ctx, code)
    now = ctx.now()
    plan.pending_deletion = True
    plan.updated_at = now
    ctx.session.execute(
        update(Plan)
        .where(Plan.organization_id == ctx.org_id, Plan.parent_id == plan.id)
        .values(pending_deletion=True, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    ctx.session.flush()
    enqueue(ctx, DELETE_CASCADE_JOB, {"plan_id": str(plan.id)})
    emit(ctx, "plan.deleted", plan)
    return plan


def list_plans(ctx: Ctx, page: PageParams) -> tuple[list[Plan], int]:
    """Live parent plans, pending deletion included, newest first (Lago's ``PlansQuery``)."""
    base = live_parent_plans(ctx)
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(Plan.created_at.desc(), Plan.id).offset(page.offset).limit(page.per_page)
    ).all()
    return list(items), total


# --------------------------------------------------------------------------- metadata


def write_plan_metadata(ctx: Ctx, code: str, raw: Any, *, partial: bool, clear: bool = False) -> Plan:
    """``POST`` (replace), ``PATCH`` (merge), ``DELETE`` (``clear``) ``/plans/{code}/metadata``:
    Lago runs them through its plan update, so each sends ``plan.updated``."""
    plan = get_plan_by_code(ctx, code)
    if clear:
        write_metadata(plan, None, partial=False)
    else:
        sent, value = metadata_input(raw)
        if sent:
            write_metadata(plan, value, partial=partial)
    plan.updated_at = ctx.now()
    ctx.session.flush()
    emit(ctx, "plan.updated", plan)
    return plan


def delete_plan_metadata_key(ctx: Ctx, code: str, key: str) -> Plan:
    """``DELETE /plans/{code}/metadata/{key}`` (404 ``metadata_not_found`` without metadata).
    Lago edits the metadata item directly here: no webhook."""
    plan = get_plan_by_code(ctx, code)
    if plan.item_metadata is None:
        raise NotFound("metadata")
    delete_metadata_key(plan, key)
    ctx.session.flush()
    return plan


# --------------------------------------------------------------------------- for other packages


def pricing_unit_in_use(ctx: Ctx, pricing_unit_id: Any) -> bool:
    stmt = select(Charge.id).where(
        Charge.organization_id == ctx.org_id,
        Charge.pricing_unit_id == pricing_unit_id,
        Charge.deleted_at.is_(None),
    )
    return ctx.session.scalar(stmt.limit(1)) is not None


def _soft_delete(ctx: Ctx, plan: Plan, before_delete: Sequence[PlanHook]) -> None:
    for hook in before_delete:
        hook(ctx, plan)
    now = ctx.now()
    plan.pending_deletion = False
    plan.deleted_at = now
    plan.updated_at = now
    ctx.session.flush()


def delete_cascade(ctx: Ctx, plan_id: Any, before_delete: Sequence[PlanHook] = ()) -> Plan | None:
    """The ``plans.delete_cascade`` job: soft-delete a plan marked ``pending_deletion``, its
    children (the overrides of subscriptions) first, as Lago's ``Plans::DestroyJob`` does.

    Before each plan goes, Lago terminates its active subscriptions, cancels the pending ones and
    finalizes the draft invoices containing it: the subscriptions and billing packages do that in
    ``before_delete`` hooks, given to ``plan_job_kinds`` at start-up. Idempotent.
    """
    plan = ctx.session.scalar(
        select(Plan).where(Plan.organization_id == ctx.org_id, Plan.id == uuid_or_none(str(plan_id)))
    )
    if plan is None or plan.deleted_at is not None:
        return plan
    for child in cascade.children(ctx, plan):
        _soft_delete(ctx, child, before_delete)
    _soft_delete(ctx, plan, before_delete)
    return plan
