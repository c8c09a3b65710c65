"""What an invoice takes off its fees besides taxes: progressive-billing credits, coupons,
credit notes and prepaid credits (billing.md §4.3 steps 4, 5, 7, 8).

Each kind of adjustment is an ``AdjustmentSource``: it says whether it may find anything
(``presence``: the SQL answers of every source come back in one statement, so an invoice whose
customer has no coupon, credit note or wallet pays one round trip for all three), it
``collect``s its inputs for the pure
``billing.math.compute_invoice`` (the customer's applied coupons, available credit notes,
wallets...) and, once the amounts are computed and the fees written, ``persist``s its outcome
(credits rows, coupon lifecycle, credit-note balances, wallet transactions) in the same
transaction. Sources of packages built on billing (credit notes, wallets) are wired from
``billow.runtime.build_hooks`` through ``InvoiceAdjustmentHooks``; billing never imports them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, select

from billow.billing.math import InvoiceKind, InvoiceTotals
from billow.billing.models import Fee, Invoice, InvoiceSubscription
from billow.db.context import Ctx


@dataclass(frozen=True)
class AdjustmentRequest:
    """The invoice being computed. ``fees`` are the rows just written (ids match ``FeeLine.id``)."""

    invoice: Invoice
    kind: InvoiceKind
    finalizing: bool
    subscription_ids: tuple[uuid.UUID, ...]
    fees: tuple[Fee, ...]
    subscription_rows: tuple[InvoiceSubscription, ...] | None = None
    """The invoice's invoice-subscriptions (ordered as stored) when the caller holds all of
    them; ``None``: sources that need them read them."""
    new_invoice: bool = False
    """The invoice was created in this transaction: nothing (credits...) points to it yet, so
    there is nothing of an earlier computation to replace."""
    without_progressive_invoices: frozenset[uuid.UUID] = frozenset()
    """Subscriptions known (from their history, read in this transaction) to be on no
    progressive-billing invoice: their progressive credit is not looked up."""


class AdjustmentSource(Protocol):
    name: str

    def presence(self, ctx: Ctx, request: AdjustmentRequest) -> ColumnElement[bool] | bool:
        """Whether :meth:`collect` may find anything: ``False`` — nothing, it is not called;
        ``True`` — it is called; an SQL boolean (an ``EXISTS``) — it is called when that is true.
        The SQL answer must be true whenever ``collect`` would provide something."""
        ...

    def collect(self, ctx: Ctx, request: AdjustmentRequest) -> Mapping[str, Any]:
        """``InvoiceInput`` fields this source provides (e.g. ``{"applied_coupons": (...)}``)."""
        ...

    def persist(self, ctx: Ctx, request: AdjustmentRequest, totals: InvoiceTotals) -> None:
        """Record what the computed invoice consumed (same transaction)."""
        ...


@dataclass(frozen=True)
class InvoiceAdjustmentHooks:
    """Adjustment sources in the order they persist (wired by ``billow.runtime.build_hooks``)."""

    sources: tuple[AdjustmentSource, ...] = ()


def adjustment_sources(ctx: Ctx) -> tuple[AdjustmentSource, ...]:
    return ctx.hooks.get(InvoiceAdjustmentHooks).sources


def _present(ctx: Ctx, request: AdjustmentRequest, sources: tuple[AdjustmentSource, ...]) -> list[bool]:
    answers = [source.presence(ctx, request) for source in sources]
    probes = [answer for answer in answers if not isinstance(answer, bool)]
    if not probes:
        return [bool(answer) for answer in answers]
    row = iter(ctx.session.execute(select(*(p.label(f"present_{i}") for i, p in enumerate(probes)))).one())
    return [answer if isinstance(answer, bool) else bool(next(row)) for answer in answers]


def collect_adjustments(ctx: Ctx, request: AdjustmentRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    sources = adjustment_sources(ctx)
    for source, present in zip(sources, _present(ctx, request, sources), strict=True):
        if not present:
            continue
        provided = source.collect(ctx, request)
        overlap = set(provided) & set(fields)
        if overlap:
            raise RuntimeError(f"adjustment source {source.name} provides {sorted(overlap)} twice")
        fields.update(provided)
    return fields


def persist_adjustments(ctx: Ctx, request: AdjustmentRequest, totals: InvoiceTotals) -> None:
    for source in adjustment_sources(ctx):
        source.persist(ctx, request, totals)
