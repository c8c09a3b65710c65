"""What billing lets the packages built on it do around an invoice's life (docs/adr/0003).

* :class:`TerminationCreditHooks` — before the invoice of a terminated or upgraded subscription
  is computed (``billing.bill_subscriptions``): the automatic credit note of its unused
  pay-in-advance days is issued there, so that the invoice consumes it (billing.md §6.4.3).
* :class:`DraftRefreshHooks` — around the recomputation of a draft's fees: rows that point to
  the draft's fees (credit-note items) follow the new fees.
* :class:`InvoiceFinalizedHooks` — after an invoice became ``finalized`` (its number assigned,
  ``invoice.created`` queued): the draft credit notes issued on it are finalized with it (only a
  draft invoice can have any: callbacks are told whether it was one).

Every callback runs in the caller's transaction. Wired by ``billow.runtime.build_hooks``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass

from billow.billing.models import Invoice
from billow.db.context import Ctx
from billow.subscriptions.models import Subscription

TerminationCallback = Callable[[Ctx, Subscription, bool], None]
"""``(ctx, subscription, upgrade)``."""


@dataclass(frozen=True)
class TerminationCreditHooks:
    before_invoice: tuple[TerminationCallback, ...] = ()


@dataclass(frozen=True)
class DraftRefreshHooks:
    """Each callback returns a context manager entered before the draft's fees are cleared and
    left once the new fees and amounts are written."""

    around_refresh: tuple[Callable[[Ctx, Invoice], AbstractContextManager[None]], ...] = ()


FinalizedCallback = Callable[[Ctx, Invoice, bool], None]
"""``(ctx, invoice, was_draft)``: ``was_draft`` — the invoice was a draft before (it was not
finalized straight from ``generating``)."""


@dataclass(frozen=True)
class InvoiceFinalizedHooks:
    on_finalized: tuple[FinalizedCallback, ...] = ()


def before_termination_invoice(ctx: Ctx, subscription: Subscription, *, upgrade: bool) -> None:
    for callback in ctx.hooks.get(TerminationCreditHooks).before_invoice:
        callback(ctx, subscription, upgrade)


@contextmanager
def draft_refresh(ctx: Ctx, invoice: Invoice) -> Iterator[None]:
    with ExitStack() as stack:
        for callback in ctx.hooks.get(DraftRefreshHooks).around_refresh:
            stack.enter_context(callback(ctx, invoice))
        yield


def invoice_finalized(ctx: Ctx, invoice: Invoice, *, was_draft: bool) -> None:
    for callback in ctx.hooks.get(InvoiceFinalizedHooks).on_finalized:
        callback(ctx, invoice, was_draft)
