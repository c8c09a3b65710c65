"""What the credit notes package asks the wallets package (docs/adr/0003).

A credit invoice (a paid wallet top-up) can only be refunded (or offset in full while unpaid),
up to what its wallet can still give back, and the refund voids that many wallet credits
(billing.md §6.4.1). Only the wallets package knows its wallets: it answers through
:class:`PrepaidCreditHooks`, wired by ``billow.runtime.build_hooks``. Unwired, a credit invoice
has no active wallet and takes no credit note (405 ``invalid_type_or_status``), as in Lago.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from billow.billing.models import Invoice
from billow.db.context import Ctx

if TYPE_CHECKING:
    from billow.credit_notes.models import CreditNote


@dataclass(frozen=True)
class PrepaidCreditHooks:
    """``wallet_creditable(ctx, invoice)``: ``None`` when the credit invoice has no active
    wallet, else what it can still give back (its balance, or the top-up's remaining amount
    when traceable). ``void_credits(ctx, invoice, note)``: void the wallet credits of the
    note's refund."""

    wallet_creditable: Callable[[Ctx, Invoice], int | None] | None = None
    void_credits: Callable[[Ctx, Invoice, CreditNote], None] | None = None


def wallet_creditable_amount_cents(ctx: Ctx, invoice: Invoice) -> int | None:
    hook = ctx.hooks.get(PrepaidCreditHooks).wallet_creditable
    return hook(ctx, invoice) if hook is not None else None


def void_wallet_credits(ctx: Ctx, invoice: Invoice, note: CreditNote) -> None:
    hook = ctx.hooks.get(PrepaidCreditHooks).void_credits
    if hook is not None:
        hook(ctx, invoice, note)
