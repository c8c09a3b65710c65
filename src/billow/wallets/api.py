"""``/wallets``, ``/customers/{external_customer_id}/wallets`` and ``/wallet_transactions``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from billow.api.body import parse_json, require_root, validate
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.billing.models import Invoice
from billow.core.errors import ValidationFailed
from billow.customers.models import Customer
from billow.customers.service import find_customer, get_customer
from billow.db.context import Ctx
from billow.wallets import queries
from billow.wallets.models import Wallet
from billow.wallets.schemas import WalletInput, WalletTransactionInput
from billow.wallets.serializers import (
    consumption_payload,
    transaction_payload,
    transaction_payloads,
    wallet_payload,
    wallet_payloads,
)
from billow.wallets.transactions import create_transactions, parse_top_up
from billow.wallets.wallets import (
    create_wallet,
    delete_wallet_metadata_key,
    terminate_wallet,
    update_wallet,
    write_wallet_metadata,
)

router = APIRouter(tags=["wallets"])


def _wallet_json(ctx: Ctx, wallet: Wallet) -> JsonResponse:
    return one("wallet", wallet_payload(ctx.session, wallet, now=ctx.now()))


def _input(body: bytes) -> WalletInput:
    return validate(WalletInput, require_root(parse_json(body), "wallet"))


# --------------------------------------------------------------------------- /wallets


@router.post("/wallets")
def post_wallet(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = _input(body)
    with unit_of_work(request, org_id) as ctx:
        external_id = data.external_customer_id
        customer = find_customer(ctx, external_id) if isinstance(external_id, str) else None
        return _wallet_json(ctx, create_wallet(ctx, data, customer))


def _list(request: Request, org_id: OrgId, page: Page, external_customer_id: str | None) -> JsonResponse:
    q = request.query_params
    filters = queries.WalletFilters(
        external_customer_id=external_customer_id,
        currency=q.get("currency") or None,
        billing_entity_codes=q.getlist("billing_entity_codes[]") or None,
    )
    with unit_of_work(request, org_id) as ctx:
        items, total = queries.list_wallets(ctx, filters, page)
        payload = wallet_payloads(ctx.session, items, now=ctx.now())
    return many("wallets", payload, page, total)


@router.get("/wallets")
def get_wallets(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    return _list(request, org_id, page, request.query_params.get("external_customer_id") or None)


@router.get("/wallets/{lago_id}")
def get_wallet(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _wallet_json(ctx, queries.find_wallet(ctx, lago_id))


@router.put("/wallets/{lago_id}")
def put_wallet(request: Request, org_id: OrgId, lago_id: str, body: RawBody) -> JsonResponse:
    data = _input(body)
    with unit_of_work(request, org_id) as ctx:
        wallet = queries.find_wallet(ctx, lago_id, for_update=True)
        return _wallet_json(ctx, update_wallet(ctx, wallet, data, set(data.model_fields_set)))


@router.delete("/wallets/{lago_id}")
def delete_wallet(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _wallet_json(ctx, terminate_wallet(ctx, queries.find_wallet(ctx, lago_id, for_update=True)))


# --------------------------------------------------------------------------- customer wallets


@router.post("/customers/{external_customer_id}/wallets")
def post_customer_wallet(
    request: Request, org_id: OrgId, external_customer_id: str, body: RawBody
) -> JsonResponse:
    data = _input(body)
    with unit_of_work(request, org_id) as ctx:
        customer = get_customer(ctx, external_customer_id)
        return _wallet_json(ctx, create_wallet(ctx, data, customer))


@router.get("/customers/{external_customer_id}/wallets")
def get_customer_wallets(
    request: Request, org_id: OrgId, page: Page, external_customer_id: str
) -> JsonResponse:
    return _list(request, org_id, page, external_customer_id)


@router.get("/customers/{external_customer_id}/wallets/{code}")
def get_customer_wallet(
    request: Request, org_id: OrgId, external_customer_id: str, code: str
) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _wallet_json(ctx, queries.find_customer_wallet(ctx, external_customer_id, code))


@router.put("/customers/{external_customer_id}/wallets/{code}")
def put_customer_wallet(
    request: Request, org_id: OrgId, external_customer_id: str, code: str, body: RawBody
) -> JsonResponse:
    data = _input(body)
    with unit_of_work(request, org_id) as ctx:
        wallet = queries.find_customer_wallet(ctx, external_customer_id, code)
        return _wallet_json(ctx, update_wallet(ctx, wallet, data, set(data.model_fields_set)))


@router.delete("/customers/{external_customer_id}/wallets/{code}")
def delete_customer_wallet(
    request: Request, org_id: OrgId, external_customer_id: str, code: str
) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        wallet = queries.find_customer_wallet(ctx, external_customer_id, code)
        return _wallet_json(ctx, terminate_wallet(ctx, wallet))


# --------------------------------------------------------------------------- metadata


def _metadata(wallet: Wallet) -> JsonResponse:
    return JsonResponse({"metadata": wallet.item_metadata})


def _metadata_param(body: bytes) -> Any:
    data = parse_json(body)
    return data.get("metadata", ...) if isinstance(data, dict) else ...


def _write(ctx: Ctx, wallet: Wallet, body: bytes, *, partial: bool) -> JsonResponse:
    raw = _metadata_param(body)
    if raw is not ...:
        write_wallet_metadata(ctx, wallet, raw, partial=partial)
    return _metadata(wallet)


def _by_id(ctx: Ctx, lago_id: str) -> Wallet:
    return queries.find_wallet(ctx, lago_id)


def _by_code(ctx: Ctx, external_customer_id: str, code: str) -> Wallet:
    return queries.find_customer_wallet(ctx, external_customer_id, code)


@router.post("/wallets/{lago_id}/metadata")
def replace_metadata(request: Request, org_id: OrgId, lago_id: str, body: RawBody) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _write(ctx, _by_id(ctx, lago_id), body, partial=False)


@router.patch("/wallets/{lago_id}/metadata")
def merge_metadata(request: Request, org_id: OrgId, lago_id: str, body: RawBody) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _write(ctx, _by_id(ctx, lago_id), body, partial=True)


@router.delete("/wallets/{lago_id}/metadata")
def delete_metadata(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _metadata(write_wallet_metadata(ctx, _by_id(ctx, lago_id), None, partial=False, clear=True))


@router.delete("/wallets/{lago_id}/metadata/{key}")
def delete_metadata_key(request: Request, org_id: OrgId, lago_id: str, key: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _metadata(delete_wallet_metadata_key(ctx, _by_id(ctx, lago_id), key))


@router.post("/customers/{external_customer_id}/wallets/{wallet_code}/metadata")
def replace_customer_metadata(
    request: Request, org_id: OrgId, external_customer_id: str, wallet_code: str, body: RawBody
) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _write(ctx, _by_code(ctx, external_customer_id, wallet_code), body, partial=False)


@router.patch("/customers/{external_customer_id}/wallets/{wallet_code}/metadata")
def merge_customer_metadata(
    request: Request, org_id: OrgId, external_customer_id: str, wallet_code: str, body: RawBody
) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _write(ctx, _by_code(ctx, external_customer_id, wallet_code), body, partial=True)


@router.delete("/customers/{external_customer_id}/wallets/{wallet_code}/metadata")
def delete_customer_metadata(
    request: Request, org_id: OrgId, external_customer_id: str, wallet_code: str
) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        wallet = _by_code(ctx, external_customer_id, wallet_code)
        return _metadata(write_wallet_metadata(ctx, wallet, None, partial=False, clear=True))


@router.delete("/customers/{external_customer_id}/wallets/{wallet_code}/metadata/{key}")
def delete_customer_metadata_key(
    request: Request, org_id: OrgId, external_customer_id: str, wallet_code: str, key: str
) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return _metadata(
            delete_wallet_metadata_key(ctx, _by_code(ctx, external_customer_id, wallet_code), key)
        )


# --------------------------------------------------------------------------- transactions


@router.post("/wallet_transactions")
def post_wallet_transactions(request: Request, org_id: OrgId, body: RawBody) -> JsonResponse:
    data = validate(WalletTransactionInput, require_root(parse_json(body), "wallet_transaction"))
    with unit_of_work(request, org_id) as ctx:
        wallet, top_up = parse_top_up(ctx, data)
        created = create_transactions(ctx, wallet, top_up)
        payload = transaction_payloads(ctx.session, created, now=ctx.now())
    return JsonResponse({"wallet_transactions": payload})


@router.get("/wallets/{lago_id}/wallet_transactions")
def get_wallet_transactions(request: Request, org_id: OrgId, page: Page, lago_id: str) -> JsonResponse:
    q = request.query_params
    filters = queries.TransactionFilters(
        status=q.get("status"),
        transaction_type=q.get("transaction_type"),
        transaction_status=q.get("transaction_status"),
    )
    with unit_of_work(request, org_id) as ctx:
        items, total = queries.list_transactions(ctx, lago_id, filters, page)
        payload = transaction_payloads(ctx.session, items, now=ctx.now())
    return many("wallet_transactions", payload, page, total)


@router.get("/wallet_transactions/{lago_id}")
def get_wallet_transaction(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        tx = queries.find_transaction(ctx, lago_id)
        return one("wallet_transaction", transaction_payload(ctx.session, tx, now=ctx.now()))


@router.post("/wallet_transactions/{lago_id}/payment_url")
def post_payment_url(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    """Lago's checks; Billow has no payment provider yet, so a payable top-up answers
    ``no_linked_payment_provider`` / ``missing_payment_provider`` (never a fake URL)."""
    with unit_of_work(request, org_id) as ctx:
        tx = queries.find_transaction(ctx, lago_id)
        if tx.transaction_status != "purchased":
            raise ValidationFailed.field("base", "wallet_transaction_not_purchased")
        if tx.status == "settled":
            raise ValidationFailed.field("base", "wallet_transaction_already_settled")
        invoice = ctx.session.get(Invoice, tx.invoice_id) if tx.invoice_id else None
        if invoice is None:
            raise ValidationFailed.field("base", "wallet_transaction_has_no_attached_invoice")
        wallet = ctx.session.get(Wallet, tx.wallet_id)
        assert wallet is not None
        owner = ctx.session.get(Customer, wallet.customer_id)
        if owner is None or not owner.payment_provider:
            raise ValidationFailed.field("base", "no_linked_payment_provider")
        raise ValidationFailed.field("base", "missing_payment_provider")


def _consumptions(request: Request, org_id: OrgId, page: Page, lago_id: str, direction: str) -> JsonResponse:
    root = "wallet_transaction_consumptions" if direction == "consumptions" else "wallet_transaction_fundings"
    with unit_of_work(request, org_id) as ctx:
        rows, total = queries.list_consumptions(ctx, lago_id, direction, page)
        payload = [consumption_payload(ctx.session, row, other, now=ctx.now()) for row, other in rows]
    return many(root, payload, page, total)


@router.get("/wallet_transactions/{lago_id}/consumptions")
def get_consumptions(request: Request, org_id: OrgId, page: Page, lago_id: str) -> JsonResponse:
    return _consumptions(request, org_id, page, lago_id, "consumptions")


@router.get("/wallet_transactions/{lago_id}/fundings")
def get_fundings(request: Request, org_id: OrgId, page: Page, lago_id: str) -> JsonResponse:
    return _consumptions(request, org_id, page, lago_id, "fundings")
