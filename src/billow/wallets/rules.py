"""Recurring transaction rules as part of a wallet's create and update (one rule per wallet).

Lago's checks, all reported as ``recurring_transaction_rules: [invalid_recurring_rule]`` (more
than one rule: ``invalid_number_of_recurring_rules``): an ``interval`` trigger names a known
interval, a ``threshold`` trigger a decimal ``threshold_credits``; a ``target`` method a decimal
``target_ongoing_balance`` (≥ the threshold for a threshold rule); credits, when sent, are
decimals; transaction metadata is valid; the expiration date is in the future;
``grants_target_top_up`` only for ``target`` rules; a fixed rule's paid credits respect the
wallet's paid top-up limits unless the rule ignores them.

Update: a rule carrying the ``lago_id`` of an active rule updates it, any other is created, and
active rules left out are terminated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billow.core.errors import ValidationFailed
from billow.core.ids import new_id, parse_uuid
from billow.db.context import Ctx
from billow.pricing import casting
from billow.wallets.models import INTERVALS, METHODS, TRIGGERS, RecurringTransactionRule, Wallet
from billow.wallets.queries import active_rules
from billow.wallets.schemas import RuleInput
from billow.wallets.transactions import paid_limit_error
from billow.wallets.validation import datetime_or_none, expiration_error, metadata_error, metadata_pairs

ZERO = Decimal(0)
INVALID_RULE = "invalid_recurring_rule"


def _decimal(raw: Any) -> Decimal | None:
    value = casting.decimal(raw)
    return value if isinstance(value, Decimal) else None


def _valid_rule(ctx: Ctx, rule: RuleInput) -> bool:
    trigger, method = casting.text(rule.trigger), casting.text(rule.method)
    if trigger == "interval":
        if casting.text(rule.interval) not in INTERVALS:
            return False
    elif trigger == "threshold":
        if _decimal(rule.threshold_credits) is None:
            return False
    else:
        return False
    if method is not None and method not in METHODS:
        return False
    if method == "target":
        target = _decimal(rule.target_ongoing_balance)
        if target is None:
            return False
        threshold = _decimal(rule.threshold_credits)
        if trigger == "threshold" and threshold is not None and target < threshold:
            return False
    paid, granted = rule.paid_credits, rule.granted_credits
    if (paid is not None or granted is not None) and _decimal(paid) is None and _decimal(granted) is None:
        return False
    if metadata_error(rule.transaction_metadata) is not None:
        return False
    if expiration_error(rule.expiration_at, ctx.now()):
        return False
    return rule.grants_target_top_up is None or method == "target"


def parse_rules(ctx: Ctx, raw: Any) -> list[RuleInput] | None:
    """The ``recurring_transaction_rules`` array (``None`` when absent), checked."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise ValidationFailed.field("recurring_transaction_rules", INVALID_RULE)
    if len(raw) > 1:
        raise ValidationFailed.field("recurring_transaction_rules", "invalid_number_of_recurring_rules")
    rules = [RuleInput.model_validate(item) if isinstance(item, dict) else None for item in raw]
    if any(rule is None or not _valid_rule(ctx, rule) for rule in rules):
        raise ValidationFailed.field("recurring_transaction_rules", INVALID_RULE)
    return [rule for rule in rules if rule is not None]


def _check_limits(wallet: Wallet, rule: RecurringTransactionRule) -> None:
    if rule.method != "fixed" or rule.paid_credits <= ZERO:
        return
    if paid_limit_error(wallet, rule.paid_credits, ignore=rule.ignore_paid_top_up_limits) is not None:
        raise ValidationFailed.field("recurring_transaction_rules", INVALID_RULE)


def _apply(rule: RecurringTransactionRule, data: RuleInput, sent: set[str]) -> None:
    """Copy the sent attributes (credits sent as ``null`` read as 0)."""
    for name in ("paid_credits", "granted_credits", "threshold_credits"):
        if name in sent:
            setattr(rule, name, _decimal(getattr(data, name)) or ZERO)
    if "target_ongoing_balance" in sent:
        rule.target_ongoing_balance = _decimal(data.target_ongoing_balance)
    if "trigger" in sent:
        rule.trigger = str(casting.text(data.trigger))
    if "method" in sent and casting.text(data.method):
        rule.method = str(casting.text(data.method))
    if "interval" in sent:
        rule.interval = casting.text(data.interval)
    for name in ("started_at", "expiration_at"):
        if name in sent:
            setattr(rule, name, datetime_or_none(getattr(data, name)))
    for name in ("invoice_requires_successful_payment", "ignore_paid_top_up_limits"):
        if name in sent:
            setattr(rule, name, bool(casting.boolean(getattr(data, name))))
    if "transaction_metadata" in sent:
        rule.transaction_metadata = metadata_pairs(data.transaction_metadata)
    if "transaction_name" in sent:
        rule.transaction_name = casting.text(data.transaction_name) or None
    if "purchase_order_number" in sent:
        rule.purchase_order_number = casting.text(data.purchase_order_number)
    if rule.method == "target":
        if "grants_target_top_up" in sent or rule.grants_target_top_up is None:
            rule.grants_target_top_up = casting.boolean(data.grants_target_top_up) is True
    else:
        rule.grants_target_top_up = None


def create_rule(
    ctx: Ctx, wallet: Wallet, data: RuleInput, *, wallet_credits: tuple[Any, Any] = (None, None)
) -> RecurringTransactionRule:
    """A new active rule. A fixed rule sent without credits takes the wallet's initial ones."""
    now = ctx.now()
    sent = set(data.model_fields_set)
    rule = RecurringTransactionRule(
        id=new_id(),
        organization_id=ctx.org_id,
        wallet_id=wallet.id,
        trigger=str(casting.text(data.trigger)),
        method="fixed",
        status="active",
        paid_credits=ZERO,
        granted_credits=ZERO,
        threshold_credits=ZERO,
        invoice_requires_successful_payment=wallet.invoice_requires_successful_payment,
        ignore_paid_top_up_limits=False,
        transaction_metadata=[],
        created_at=now,
        updated_at=now,
    )
    _apply(rule, data, sent)
    if rule.method == "fixed" and data.paid_credits is None and data.granted_credits is None:
        rule.paid_credits = _decimal(wallet_credits[0]) or ZERO
        rule.granted_credits = _decimal(wallet_credits[1]) or ZERO
    _check_limits(wallet, rule)
    ctx.session.add(rule)
    return rule


def terminate_rule(ctx: Ctx, rule: RecurringTransactionRule) -> None:
    if rule.status == "terminated":
        return
    now = ctx.now()
    rule.status, rule.terminated_at, rule.updated_at = "terminated", rule.terminated_at or now, now


def replace_rules(ctx: Ctx, wallet: Wallet, rules: list[RuleInput]) -> None:
    """``PUT``: update the rules named by ``lago_id``, create the others, terminate the rest."""
    existing = {rule.id: rule for rule in active_rules(ctx, wallet.id)}
    kept: set[Any] = set()
    for data in rules:
        parsed = parse_uuid(str(data.lago_id)) if data.lago_id is not None else None
        current = existing.get(parsed) if parsed is not None else None
        if current is None:
            kept.add(create_rule(ctx, wallet, data).id)
            continue
        _apply(current, data, set(data.model_fields_set))
        current.updated_at = ctx.now()
        kept.add(current.id)
    for rule_id, rule in existing.items():
        if rule_id not in kept:
            terminate_rule(ctx, rule)
    ctx.session.flush()


def recheck_limits(ctx: Ctx, wallet: Wallet) -> None:
    """After the wallet's limits changed: every active fixed rule must still respect them."""
    for rule in active_rules(ctx, wallet.id):
        _check_limits(wallet, rule)


__all__ = ["TRIGGERS", "create_rule", "parse_rules", "recheck_limits", "replace_rules", "terminate_rule"]
