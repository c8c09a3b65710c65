"""``/api/v1/invoices``, ``/api/v1/customers/{id}/invoices`` and ``/api/v1/fees``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from billow.api.body import parse_json, require_root, validate
from billow.api.deps import OrgId, RawBody, unit_of_work
from billow.api.pagination import Page
from billow.api.responses import JsonResponse, many, one
from billow.billing import queries, service
from billow.billing.fee_serializers import fee_payload, fee_payloads
from billow.billing.fees.engine import build_fee_engine
from billow.billing.serializers import DETAIL, LIST, invoice_payload, invoice_payloads
from billow.customers.service import get_customer

router = APIRouter(tags=["invoices"])


def _list(request: Request, org_id: OrgId, page: Page, external_customer_id: str | None) -> JsonResponse:
    filters = queries.parse_invoice_filters(request.query_params.multi_items())
    with unit_of_work(request, org_id) as ctx:
        if external_customer_id is not None:
            filters.external_customer_id = get_customer(ctx, external_customer_id).external_id
        items, total = queries.list_invoices(ctx, filters, page)
        payload = invoice_payloads(ctx.session, items, includes=LIST, now=ctx.now())
    return many("invoices", payload, page, total)


@router.get("/invoices")
def list_invoices(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    return _list(request, org_id, page, None)


@router.get("/customers/{external_customer_id}/invoices")
def list_customer_invoices(
    request: Request, org_id: OrgId, page: Page, external_customer_id: str
) -> JsonResponse:
    return _list(request, org_id, page, external_customer_id)


@router.get("/invoices/{lago_id}")
def get_invoice(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        invoice = service.find_invoice(ctx, lago_id)
        return one("invoice", invoice_payload(ctx.session, invoice, includes=DETAIL, now=ctx.now()))


@router.put("/invoices/{lago_id}")
def update_invoice(request: Request, org_id: OrgId, lago_id: str, body: RawBody) -> JsonResponse:
    data = validate(service.InvoiceUpdateInput, require_root(parse_json(body), "invoice"))
    with unit_of_work(request, org_id) as ctx:
        invoice = service.find_invoice(ctx, lago_id)
        service.update_invoice(ctx, invoice, data, set(data.model_fields_set))
        payload = invoice_payload(ctx.session, invoice, includes=DETAIL, now=ctx.now())
    return one("invoice", payload)


@router.put("/invoices/{lago_id}/refresh")
def refresh_invoice(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        invoice = service.refresh(ctx, build_fee_engine(), service.find_invoice(ctx, lago_id))
        payload = invoice_payload(ctx.session, invoice, includes=DETAIL, now=ctx.now())
    return one("invoice", payload)


@router.put("/invoices/{lago_id}/finalize")
def finalize_invoice(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        invoice = service.find_invoice(ctx, lago_id, statuses=("draft",))
        service.finalize(ctx, build_fee_engine(), invoice)
        payload = invoice_payload(ctx.session, invoice, includes=DETAIL, now=ctx.now())
    return one("invoice", payload)


@router.get("/fees")
def list_fees(request: Request, org_id: OrgId, page: Page) -> JsonResponse:
    filters = queries.parse_fee_filters(request.query_params.multi_items())
    with unit_of_work(request, org_id) as ctx:
        items, total = queries.list_fees(ctx, filters, page)
        payload = fee_payloads(ctx.session, items)
    return many("fees", payload, page, total)


@router.get("/fees/{lago_id}")
def get_fee(request: Request, org_id: OrgId, lago_id: str) -> JsonResponse:
    with unit_of_work(request, org_id) as ctx:
        return one("fee", fee_payload(ctx.session, service.find_fee(ctx, lago_id)))
