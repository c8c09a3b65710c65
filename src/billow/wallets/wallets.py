"""Wallets: create (with their initial credits and rule), update, terminate, metadata, and what
customers and billable metrics ask of them (hooks wired by ``billow.runtime.build_hooks``).

Lago's rules and codes. Create: the customer must exist (``customer: customer_not_found``) and
have fewer than 6 active wallets (``wallet_limit_reached``); credits are decimals ≥ 0
(``invalid_paid_credits``/``invalid_granted_credits`` + ``invalid_amount``) whose money is not 0
cents (``amount_rounds_to_zero``); ``expiration_at`` is in the future (``invalid_date``);
``applies_to`` names known fee types and metric codes (``invalid_limitations``). Then the record:
``rate_amount`` > 0, a known currency (the customer's when not sent; a customer without currency
takes the wallet's), ``priority`` in 1..50, paid top-up limits > 0 with max ≥ min, and a code
unique among the customer's active wallets (default: the name parameterized, else ``default``,
suffixed with the Unix time when taken).

Divergences: the initial credits are created in the same request (Lago queues a job), so the
response already shows them; an update without ``applies_to`` keeps the wallet's metric limits
(Lago drops them).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from billow.core.errors import ErrorCollector, NotFound, ValidationFailed
from billow.core.ids import new_id
from billow.core.validators import is_currency
from billow.customers.models import Customer
from billow.customers.service import assign_currency
from billow.db.context import Ctx
from billow.metering.models import BillableMetric
from billow.pricing import casting
from billow.pricing.casting import NOT_A_NUMBER, Invalid
from billow.pricing.plans.metadata import check_metadata, metadata_input
from billow.wallets import ledger
from billow.wallets.credits import rounds_to_zero
from billow.wallets.models import LIMITABLE_FEE_TYPES, Wallet, WalletTarget
from billow.wallets.queries import active_rules, code_taken
from billow.wallets.rules import create_rule, parse_rules, recheck_limits, replace_rules, terminate_rule
from billow.wallets.schemas import RuleInput, WalletInput
from billow.wallets.transactions import TopUp, create_transactions, paid_limit_error
from billow.wallets.validation import (
    credits_value,
    datetime_or_none,
    expiration_error,
    metadata_error,
    metadata_pairs,
)
from billow.webhooks.emitter import emit

MAX_ACTIVE_WALLETS = 6
_SEPARATORS = re.compile(r"[^a-z0-9\-_]+")


def default_code(name: Any) -> str:
    """Rails' ``name.parameterize(separator: "_")``, else ``default``."""
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()
    code = re.sub(r"_+", "_", _SEPARATORS.sub("_", text.lower())).strip("_")
    return code or "default"


def _credits(errors: ErrorCollector, name: str, raw: Any) -> Decimal | None:
    value = credits_value(raw)
    if isinstance(value, Invalid):
        errors.add(name, f"invalid_{name}")
        errors.add(name, "invalid_amount")
        return None
    return value


def _limitations(ctx: Ctx, raw: Any) -> tuple[list[str] | None, list[BillableMetric] | None, list[str]]:
    """``(fee_types, metrics, errors)`` from ``applies_to`` (each ``None`` when not sent)."""
    if not isinstance(raw, dict):
        return None, None, []
    problems: list[str] = []
    fee_types: list[str] | None = None
    if "fee_types" in raw:
        fee_types = casting.string_list(raw.get("fee_types")) or []
        if any(t not in LIMITABLE_FEE_TYPES for t in fee_types):
            problems.append("allowed_fee_types")
    codes = casting.string_list(raw.get("billable_metric_codes")) or []
    metrics = list(
        ctx.session.scalars(
            select(BillableMetric).where(
                BillableMetric.organization_id == ctx.org_id,
                BillableMetric.code.in_(codes),
                BillableMetric.deleted_at.is_(None),
            )
        )
    )
    if len(metrics) != len(set(codes)):
        problems.append("billable_metrics")
    return fee_types, metrics, problems


def _record_checks(ctx: Ctx, wallet: Wallet, rate: Any) -> None:
    errors = ErrorCollector()
    if isinstance(rate, Invalid) or rate is None:
        errors.add("rate_amount", NOT_A_NUMBER)
    elif rate <= 0:
        errors.add("rate_amount", "value_is_out_of_range")
    if not wallet.currency or not is_currency(wallet.currency):
        errors.add("currency", "value_is_invalid")
    if not 1 <= wallet.priority <= 50:
        errors.add("priority", "value_is_invalid")
    for name in ("paid_top_up_min_amount_cents", "paid_top_up_max_amount_cents"):
        value = getattr(wallet, name)
        if value is not None and value <= 0:
            errors.add(name, "value_is_out_of_range")
    low, high = wallet.paid_top_up_min_amount_cents, wallet.paid_top_up_max_amount_cents
    if low is not None and high is not None and high < low:
        errors.add("paid_top_up_max_amount_cents", "must_be_greater_than_or_equal_min")
    if wallet.status == "active" and code_taken(ctx, wallet.customer_id, wallet.code, exclude=wallet.id):
        errors.add("code", "value_already_exist")
    errors.raise_if_any()


def _int_field(errors: ErrorCollector, name: str, raw: Any) -> int | None:
    value = casting.integer(raw)
    if isinstance(value, Invalid):
        errors.add(name, NOT_A_NUMBER)
        return None
    return value


def _set_targets(ctx: Ctx, wallet: Wallet, metrics: list[BillableMetric]) -> bool:
    """Replace the wallet's metric limits; True when they changed."""
    existing = set(
        ctx.session.scalars(
            select(WalletTarget.billable_metric_id).where(WalletTarget.wallet_id == wallet.id)
        )
    )
    wanted = {m.id for m in metrics}
    if existing == wanted:
        return False
    ctx.session.execute(
        delete(WalletTarget).where(
            WalletTarget.wallet_id == wallet.id, WalletTarget.billable_metric_id.not_in(wanted)
        )
    )
    now = ctx.now()
    for metric_id in [m.id for m in metrics if m.id not in existing]:
        ctx.session.add(
            WalletTarget(
                id=new_id(),
                organization_id=ctx.org_id,
                wallet_id=wallet.id,
                billable_metric_id=metric_id,
                created_at=now,
                updated_at=now,
            )
        )
    return True


def _write_metadata(wallet: Wallet, raw: Any, *, partial: bool) -> None:
    """Lago's metadata item table: replace (or merge), ``null`` deletes when replacing."""
    sent, value = metadata_input(raw)
    if not sent:
        return
    current = wallet.item_metadata
    if value is None:
        if not partial:
            wallet.item_metadata = None
        return
    merged = {**(current or {}), **value} if partial else dict(value)
    if current is None and partial and not value:
        return
    check_metadata(merged)
    wallet.item_metadata = merged


def create_wallet(ctx: Ctx, data: WalletInput, customer: Customer | None) -> Wallet:
    errors = ErrorCollector()
    if customer is None:
        errors.add("customer", "customer_not_found")
    paid = _credits(errors, "paid_credits", data.paid_credits)
    granted = _credits(errors, "granted_credits", data.granted_credits)
    if expiration_error(data.expiration_at, ctx.now()):
        errors.add("expiration_at", "invalid_date")
    rules: list[RuleInput] | None = None
    try:
        rules = parse_rules(ctx, data.recurring_transaction_rules)
    except ValidationFailed as exc:
        for field_name, codes in exc.details.items():
            for code in codes:
                errors.add(field_name, code)
    code = metadata_error(data.transaction_metadata)
    if code is not None:
        errors.add("metadata", code)
    fee_types, metrics, problems = _limitations(ctx, data.applies_to)
    if problems:
        errors.add("applies_to", "invalid_limitations")
    if customer is not None:
        active = ctx.session.scalars(
            select(Wallet.id).where(Wallet.customer_id == customer.id, Wallet.status == "active")
        ).all()
        if len(active) >= MAX_ACTIVE_WALLETS:
            errors.add("customer", "wallet_limit_reached")
    priority = _int_field(errors, "priority", data.priority) if data.priority is not None else None
    low = _int_field(errors, "paid_top_up_min_amount_cents", data.paid_top_up_min_amount_cents)
    high = _int_field(errors, "paid_top_up_max_amount_cents", data.paid_top_up_max_amount_cents)
    errors.raise_if_any()
    assert customer is not None
    now = ctx.now()
    currency = casting.text(data.currency)
    if currency and is_currency(currency) and customer.currency is None:
        assign_currency(ctx, customer, currency)
    rate = casting.decimal(data.rate_amount)
    code_value = casting.text(data.code)
    if not code_value:
        code_value = default_code(data.name)
        if code_taken(ctx, customer.id, code_value):
            code_value = f"{code_value}_{int(now.timestamp())}"
    wallet = Wallet(
        id=new_id(),
        organization_id=ctx.org_id,
        customer_id=customer.id,
        name=casting.text(data.name),
        code=code_value,
        status="active",
        currency=currency or customer.currency or "",
        rate_amount=rate if isinstance(rate, Decimal) else Decimal(0),
        priority=priority if priority is not None else 50,
        invoice_requires_successful_payment=bool(casting.boolean(data.invoice_requires_successful_payment)),
        paid_top_up_min_amount_cents=low,
        paid_top_up_max_amount_cents=high,
        allowed_fee_types=fee_types or [],
        purchase_order_number=casting.text(data.purchase_order_number),
        expiration_at=datetime_or_none(data.expiration_at),
        created_at=now,
        updated_at=now,
    )
    _record_checks(ctx, wallet, rate)
    for name, credits in (("paid_credits", paid), ("granted_credits", granted)):
        if rounds_to_zero(credits, wallet.rate_amount, wallet.currency):
            raise ValidationFailed.field(name, "amount_rounds_to_zero")
    ignore_limits = bool(casting.boolean(data.ignore_paid_top_up_limits_on_creation))
    if paid is not None and paid > 0:
        error = paid_limit_error(wallet, paid, ignore=ignore_limits)
        if error is not None:
            raise ValidationFailed.field("paid_credits", error)
    if data.metadata is not None:
        _write_metadata(wallet, data.metadata, partial=False)
    ctx.session.add(wallet)
    ctx.session.flush()
    for rule in rules or []:
        create_rule(ctx, wallet, rule, wallet_credits=(data.paid_credits, data.granted_credits))
    _set_targets(ctx, wallet, metrics or [])
    ctx.session.flush()
    emit(ctx, "wallet.created", wallet)
    if (paid or 0) > 0 or (granted or 0) > 0:
        transaction_priority = casting.integer(data.transaction_priority)
        create_transactions(
            ctx,
            wallet,
            TopUp(
                paid_credits=paid,
                granted_credits=granted,
                metadata=metadata_pairs(data.transaction_metadata),
                name=casting.text(data.transaction_name) or None,
                priority=transaction_priority if isinstance(transaction_priority, int) else 50,
                ignore_paid_top_up_limits=ignore_limits,
                purchase_order_number=wallet.purchase_order_number,
            ),
        )
    return wallet


def update_wallet(ctx: Ctx, wallet: Wallet, data: WalletInput, fields: set[str]) -> Wallet:
    if wallet.status == "terminated":
        raise ValidationFailed.field("wallet_id", "wallet_is_terminated")
    if expiration_error(data.expiration_at, ctx.now()):
        raise ValidationFailed.field("expiration_at", "invalid_date")
    rules = parse_rules(ctx, data.recurring_transaction_rules)
    fee_types, metrics, problems = _limitations(ctx, data.applies_to)
    if problems:
        codes = {"allowed_fee_types": "invalid_fee_types", "billable_metrics": "invalid_identifier"}
        raise ValidationFailed({name: [codes[name]] for name in problems})
    errors = ErrorCollector()
    priority = _int_field(errors, "priority", data.priority) if data.priority is not None else None
    low = _int_field(errors, "paid_top_up_min_amount_cents", data.paid_top_up_min_amount_cents)
    high = _int_field(errors, "paid_top_up_max_amount_cents", data.paid_top_up_max_amount_cents)
    errors.raise_if_any()
    if "name" in fields:
        wallet.name = casting.text(data.name)
    if casting.text(data.code):
        wallet.code = str(casting.text(data.code))
    if priority is not None:
        wallet.priority = priority
    if "expiration_at" in fields:
        wallet.expiration_at = datetime_or_none(data.expiration_at)
    if "purchase_order_number" in fields:
        wallet.purchase_order_number = casting.text(data.purchase_order_number)
    requires = casting.boolean(data.invoice_requires_successful_payment)
    if requires is not None:
        wallet.invoice_requires_successful_payment = requires
    if "paid_top_up_min_amount_cents" in fields:
        wallet.paid_top_up_min_amount_cents = low
    if "paid_top_up_max_amount_cents" in fields:
        wallet.paid_top_up_max_amount_cents = high
    _record_checks(ctx, wallet, wallet.rate_amount)
    if rules is not None:
        replace_rules(ctx, wallet, rules)
    recheck_limits(ctx, wallet)
    if fee_types is not None:
        wallet.allowed_fee_types = fee_types
    if isinstance(data.applies_to, dict):
        _set_targets(ctx, wallet, metrics or [])
    if "metadata" in fields:
        _write_metadata(wallet, data.metadata, partial=False)
    wallet.updated_at = ctx.now()
    ctx.session.flush()
    emit(ctx, "wallet.updated", wallet)
    ledger.request_refresh(ctx, wallet.customer_id, f"update:{wallet.id}:{wallet.updated_at.isoformat()}")
    return wallet


def write_wallet_metadata(
    ctx: Ctx, wallet: Wallet, raw: Any, *, partial: bool, clear: bool = False
) -> Wallet:
    """``POST`` (replace), ``PATCH`` (merge), ``DELETE`` (``clear``) ``…/metadata``: Lago runs them
    through the wallet update (``wallet.updated``; 422 on a terminated wallet)."""
    if wallet.status == "terminated":
        raise ValidationFailed.field("wallet_id", "wallet_is_terminated")
    if clear:
        wallet.item_metadata = None
    else:
        _write_metadata(wallet, raw, partial=partial)
    wallet.updated_at = ctx.now()
    ctx.session.flush()
    emit(ctx, "wallet.updated", wallet)
    return wallet


def delete_wallet_metadata_key(ctx: Ctx, wallet: Wallet, key: str) -> Wallet:
    """``DELETE …/metadata/{key}`` (404 ``metadata_not_found`` without metadata; no webhook)."""
    if wallet.item_metadata is None:
        raise NotFound("metadata")
    current = dict(wallet.item_metadata)
    current.pop(key, None)
    wallet.item_metadata = current
    ctx.session.flush()
    return wallet


def terminate_wallet(ctx: Ctx, wallet: Wallet) -> Wallet:
    """``DELETE``: terminated with its rules, ``wallet.terminated`` (already terminated: as is)."""
    if wallet.status == "terminated":
        return wallet
    now = ctx.now()
    wallet.status, wallet.terminated_at, wallet.updated_at = "terminated", wallet.terminated_at or now, now
    for rule in active_rules(ctx, wallet.id):
        terminate_rule(ctx, rule)
    ctx.session.flush()
    emit(ctx, "wallet.terminated", wallet)
    ledger.request_refresh(ctx, wallet.customer_id, f"terminate:{wallet.id}")
    return wallet


# --------------------------------------------------------------------------- hooks


def customer_has_wallets(ctx: Ctx, customer_id: uuid.UUID) -> bool:
    """``CustomerHooks.currency_holders``: any wallet, whatever its status, locks the currency."""
    stmt = select(Wallet.id).where(Wallet.organization_id == ctx.org_id, Wallet.customer_id == customer_id)
    return ctx.session.scalar(stmt.limit(1)) is not None


def terminate_customer_wallets(ctx: Ctx, customer_id: uuid.UUID) -> None:
    """``CustomerHooks.on_delete``: a deleted customer's wallets are terminated."""
    wallets = ctx.session.scalars(
        select(Wallet).where(
            Wallet.organization_id == ctx.org_id, Wallet.customer_id == customer_id, Wallet.status == "active"
        )
    ).all()
    for wallet in wallets:
        terminate_wallet(ctx, wallet)


def discard_wallet_targets_of_metric(ctx: Ctx, metric_id: uuid.UUID) -> None:
    """``MetricHooks.on_delete``: a deleted metric no longer limits wallets."""
    ctx.session.execute(
        delete(WalletTarget).where(
            WalletTarget.organization_id == ctx.org_id, WalletTarget.billable_metric_id == metric_id
        )
    )
