"""Credit-note operations behind the API (Lago's ``CreditNotesController``): creation from a
request body, and look-ups."""

from __future__ import annotations

from billow.credit_notes.creation import check_metadata, check_type_and_reason, create_credit_note
from billow.credit_notes.items import parse_items
from billow.credit_notes.models import CreditNote
from billow.credit_notes.repository import find_invoice
from billow.credit_notes.schemas import CreditNoteCreateInput, CreditNoteRequest
from billow.db.context import Ctx


def create_from_input(ctx: Ctx, data: CreditNoteCreateInput) -> CreditNote:
    """``POST /credit_notes``: the invoice (404), its type and status (405), the reason and
    metadata (422), the items (``must_be_an_array``, 404 ``fee_not_found``, 422), the amounts."""
    invoice = find_invoice(ctx, data.invoice_id)
    request = CreditNoteRequest(
        items=(),
        reason=data.reason or "other",
        description=data.description,
        credit_amount_cents=data.credit_amount_cents or 0,
        refund_amount_cents=data.refund_amount_cents or 0,
        offset_amount_cents=data.offset_amount_cents or 0,
    )
    check_type_and_reason(ctx, invoice, request)
    metadata = check_metadata(data.metadata)
    items = parse_items(data.items)
    return create_credit_note(
        ctx,
        invoice,
        CreditNoteRequest(
            items=items,
            reason=request.reason,
            description=request.description,
            credit_amount_cents=request.credit_amount_cents,
            refund_amount_cents=request.refund_amount_cents,
            offset_amount_cents=request.offset_amount_cents,
            metadata=metadata,
        ),
    )
