"""Wallets, recurring rules, wallet transactions and their consumptions in Lago's shape
(``V1::WalletSerializer``, ``V1::Wallets::RecurringTransactionRuleSerializer``,
``V1::WalletTransactionSerializer``, ``V1::WalletTransactionConsumptionSerializer``).

Credit amounts, rates and money ``amount`` are decimal strings (``"10.0"``), balances integer
cents. The API's wallet carries its active rules, ``applies_to`` and custom sections; the wallet
webhooks its rules (``wallet.depleted_ongoing_balance``: none); transaction webhooks the wallet.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.billing.events import InvoiceEvent
from billow.billing.serializers import invoice_payload
from billow.core.money import decimal_str, decimal_str_or_none
from billow.core.timefmt import iso_z
from billow.customers.models import Customer
from billow.metering.models import BillableMetric
from billow.organizations.models import BillingEntity
from billow.wallets.credits import credits_of_cents
from billow.wallets.models import (
    RecurringTransactionRule,
    Wallet,
    WalletTarget,
    WalletTransaction,
    WalletTransactionConsumption,
)

API: frozenset[str] = frozenset(
    {"recurring_transaction_rules", "limitations", "applied_invoice_custom_sections"}
)
WEBHOOK: frozenset[str] = frozenset({"recurring_transaction_rules"})
PAID_CREDIT_ADDED: frozenset[str] = frozenset(
    {"customer", "fees", "applied_taxes", "applied_invoice_custom_sections"}
)
_NO_PAYMENT_METHOD = {"payment_method_id": None, "payment_method_type": "provider"}


def rule_payload(rule: RecurringTransactionRule) -> dict[str, Any]:
    return {
        "lago_id": str(rule.id),
        "paid_credits": decimal_str(rule.paid_credits),
        "granted_credits": decimal_str(rule.granted_credits),
        "grants_target_top_up": bool(rule.grants_target_top_up),
        "interval": rule.interval,
        "method": rule.method,
        "started_at": iso_z(rule.started_at),
        "expiration_at": iso_z(rule.expiration_at),
        "status": rule.status,
        "target_ongoing_balance": decimal_str_or_none(rule.target_ongoing_balance),
        "threshold_credits": decimal_str(rule.threshold_credits),
        "trigger": rule.trigger,
        "created_at": iso_z(rule.created_at),
        "invoice_requires_successful_payment": rule.invoice_requires_successful_payment,
        "transaction_metadata": list(rule.transaction_metadata or []),
        "transaction_name": rule.transaction_name,
        "purchase_order_number": rule.purchase_order_number,
        "ignore_paid_top_up_limits": rule.ignore_paid_top_up_limits,
        "applied_invoice_custom_sections": [],
        "payment_method": dict(_NO_PAYMENT_METHOD),
    }


def _base(wallet: Wallet, customer: Customer | None, entity_code: str | None) -> dict[str, Any]:
    return {
        "lago_id": str(wallet.id),
        "lago_customer_id": str(wallet.customer_id),
        "external_customer_id": customer.external_id if customer else None,
        "billing_entity_code": entity_code,
        "status": wallet.status,
        "currency": wallet.currency,
        "name": wallet.name,
        "code": wallet.code,
        "purchase_order_number": wallet.purchase_order_number,
        "rate_amount": decimal_str(wallet.rate_amount),
        "credits_balance": decimal_str(wallet.credits_balance),
        "credits_ongoing_balance": decimal_str(wallet.credits_ongoing_balance),
        "credits_ongoing_usage_balance": decimal_str(wallet.credits_ongoing_usage_balance),
        "balance_cents": wallet.balance_cents,
        "ongoing_balance_cents": wallet.ongoing_balance_cents,
        "ongoing_usage_balance_cents": wallet.ongoing_usage_balance_cents,
        "consumed_credits": decimal_str(wallet.consumed_credits),
        "consumed_amount_cents": wallet.consumed_amount_cents,
        "created_at": iso_z(wallet.created_at),
        "expiration_at": iso_z(wallet.expiration_at),
        "last_balance_sync_at": iso_z(wallet.last_balance_sync_at),
        "last_consumed_credit_at": iso_z(wallet.last_consumed_credit_at),
        "terminated_at": iso_z(wallet.terminated_at),
        "invoice_requires_successful_payment": wallet.invoice_requires_successful_payment,
        "paid_top_up_min_amount_cents": wallet.paid_top_up_min_amount_cents,
        "paid_top_up_max_amount_cents": wallet.paid_top_up_max_amount_cents,
        "priority": wallet.priority,
    }


def _rules_by_wallet(
    session: Session, ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[RecurringTransactionRule]]:
    rules = session.scalars(
        select(RecurringTransactionRule)
        .where(RecurringTransactionRule.wallet_id.in_(ids), RecurringTransactionRule.status == "active")
        .order_by(RecurringTransactionRule.created_at, RecurringTransactionRule.id)
    )
    grouped: dict[uuid.UUID, list[RecurringTransactionRule]] = {i: [] for i in ids}
    for rule in rules:
        if rule.expiration_at is None or rule.expiration_at > now:
            grouped[rule.wallet_id].append(rule)
    return grouped


def _metric_codes(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    rows = session.execute(
        select(WalletTarget.wallet_id, BillableMetric.code)
        .join(BillableMetric, BillableMetric.id == WalletTarget.billable_metric_id)
        .where(WalletTarget.wallet_id.in_(ids))
        .order_by(WalletTarget.created_at, WalletTarget.id)
    ).all()
    grouped: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    for wallet_id, code in rows:
        grouped[wallet_id].append(code)
    return grouped


def _owners(
    session: Session, wallets: Sequence[Wallet]
) -> tuple[dict[uuid.UUID, Customer], dict[uuid.UUID, str | None]]:
    """Each wallet's customer, and its billing entity code (the wallet's, else the customer's)."""
    customers = {
        c.id: c
        for c in session.scalars(select(Customer).where(Customer.id.in_({w.customer_id for w in wallets})))
    }
    entity_ids: set[uuid.UUID] = {c.billing_entity_id for c in customers.values()}
    entity_ids |= {w.billing_entity_id for w in wallets if w.billing_entity_id is not None}
    entities = {
        e.id: e.code for e in session.scalars(select(BillingEntity).where(BillingEntity.id.in_(entity_ids)))
    }
    codes: dict[uuid.UUID, str | None] = {}
    for wallet in wallets:
        customer = customers.get(wallet.customer_id)
        entity_id = wallet.billing_entity_id or (customer.billing_entity_id if customer else None)
        codes[wallet.id] = entities.get(entity_id) if entity_id else None
    return customers, codes


def wallet_payloads(
    session: Session, wallets: Sequence[Wallet], *, includes: Collection[str] = API, now: datetime
) -> list[dict[str, Any]]:
    if not wallets:
        return []
    ids = [w.id for w in wallets]
    customers, entity_codes = _owners(session, wallets)
    rules = _rules_by_wallet(session, ids, now) if "recurring_transaction_rules" in includes else {}
    codes = _metric_codes(session, ids) if "limitations" in includes else {}
    payloads = []
    for wallet in wallets:
        payload = _base(wallet, customers.get(wallet.customer_id), entity_codes[wallet.id])
        if "recurring_transaction_rules" in includes:
            payload["recurring_transaction_rules"] = [rule_payload(r) for r in rules[wallet.id]]
        if "limitations" in includes:
            payload["applies_to"] = {
                "fee_types": list(wallet.allowed_fee_types or []),
                "billable_metric_codes": codes[wallet.id],
            }
        if "applied_invoice_custom_sections" in includes:
            payload["applied_invoice_custom_sections"] = []
        payload["payment_method"] = dict(_NO_PAYMENT_METHOD)
        if wallet.item_metadata is not None:
            payload["metadata"] = dict(wallet.item_metadata)
        payloads.append(payload)
    return payloads


def wallet_payload(
    session: Session, wallet: Wallet, *, includes: Collection[str] = API, now: datetime
) -> dict[str, Any]:
    return wallet_payloads(session, [wallet], includes=includes, now=now)[0]


def _wallets_of(session: Session, txs: Sequence[WalletTransaction]) -> dict[uuid.UUID, Wallet]:
    ids = {t.wallet_id for t in txs}
    return {w.id: w for w in session.scalars(select(Wallet).where(Wallet.id.in_(ids)))} if ids else {}


def transaction_payloads(
    session: Session, txs: Sequence[WalletTransaction], *, with_wallet: bool = False, now: datetime
) -> list[dict[str, Any]]:
    if not txs:
        return []
    wallets = _wallets_of(session, txs)
    wallet_json: dict[uuid.UUID, dict[str, Any]] = {}
    if with_wallet:
        ordered = list(wallets.values())
        wallet_json = dict(
            zip([w.id for w in ordered], wallet_payloads(session, ordered, includes=(), now=now), strict=True)
        )
    _, entity_codes = _owners(session, list(wallets.values()))
    payloads = []
    for tx in txs:
        wallet = wallets[tx.wallet_id]
        remaining = tx.remaining_amount_cents
        payload: dict[str, Any] = {
            "lago_id": str(tx.id),
            "lago_wallet_id": str(tx.wallet_id),
            "lago_invoice_id": str(tx.invoice_id) if tx.invoice_id else None,
            "lago_credit_note_id": str(tx.credit_note_id) if tx.credit_note_id else None,
            "lago_voided_invoice_id": str(tx.voided_invoice_id) if tx.voided_invoice_id else None,
            "billing_entity_code": entity_codes.get(wallet.id),
            "status": tx.status,
            "source": tx.source,
            "transaction_status": tx.transaction_status,
            "transaction_type": tx.transaction_type,
            "amount": decimal_str(tx.amount),
            "credit_amount": decimal_str(tx.credit_amount),
            "remaining_amount_cents": remaining,
            "remaining_credit_amount": (
                decimal_str(credits_of_cents(remaining, wallet.rate_amount, wallet.currency))
                if remaining is not None
                else None
            ),
            "priority": tx.priority,
            "purchase_order_number": tx.purchase_order_number or wallet.purchase_order_number,
            "settled_at": iso_z(tx.settled_at),
            "failed_at": iso_z(tx.failed_at),
            "created_at": iso_z(tx.created_at),
            "invoice_requires_successful_payment": tx.invoice_requires_successful_payment,
            "metadata": list(tx.transaction_metadata or []),
            "name": tx.name,
        }
        if with_wallet:
            payload["wallet"] = wallet_json[wallet.id]
        payload["payment_method"] = dict(_NO_PAYMENT_METHOD)
        payloads.append(payload)
    return payloads


def transaction_payload(
    session: Session, tx: WalletTransaction, *, with_wallet: bool = False, now: datetime
) -> dict[str, Any]:
    payload = transaction_payloads(session, [tx], with_wallet=with_wallet, now=now)[0]
    if not with_wallet:
        payload["applied_invoice_custom_sections"] = []
    return payload


def consumption_payload(
    session: Session, row: WalletTransactionConsumption, other: WalletTransaction, *, now: datetime
) -> dict[str, Any]:
    wallet = session.get(Wallet, other.wallet_id)
    assert wallet is not None
    return {
        "lago_id": str(row.id),
        "amount_cents": row.consumed_amount_cents,
        "credit_amount": decimal_str(
            credits_of_cents(row.consumed_amount_cents, wallet.rate_amount, wallet.currency)
        ),
        "created_at": iso_z(row.created_at),
        "wallet_transaction": transaction_payload(session, other, now=now),
    }


# --------------------------------------------------------------------------- webhooks


def wallet_webhook_payload(session: Session, wallet: Wallet) -> dict[str, Any]:
    return wallet_payload(session, wallet, includes=WEBHOOK, now=wallet.updated_at)


def wallet_depleted_webhook_payload(session: Session, wallet: Wallet) -> dict[str, Any]:
    return wallet_payload(session, wallet, includes=(), now=wallet.updated_at)


def wallet_transaction_webhook_payload(session: Session, tx: WalletTransaction) -> dict[str, Any]:
    return transaction_payload(session, tx, with_wallet=True, now=tx.updated_at)


def paid_credit_added_webhook_payload(session: Session, event: InvoiceEvent) -> dict[str, Any]:
    return invoice_payload(session, event.invoice, includes=PAID_CREDIT_ADDED, now=event.at)
