"""What the packages built on billing do when an invoice's ``payment_status`` changes
(docs/adr/0003; wired by ``billow.runtime.build_hooks``).

Wallets settle (``succeeded``) or fail (``failed``) the top-up a ``credit`` invoice bills.
Callbacks run in the caller's transaction, after the new status is flushed, with the previous
status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from billow.billing.models import Invoice
from billow.db.context import Ctx

PaymentStatusCallback = Callable[[Ctx, Invoice, str], None]
"""``(ctx, invoice, previous payment status)``."""


@dataclass(frozen=True)
class PaymentStatusHooks:
    on_change: tuple[PaymentStatusCallback, ...] = ()


def payment_status_changed(ctx: Ctx, invoice: Invoice, previous: str) -> None:
    """Call wherever billing changes an invoice's ``payment_status`` (API update, payments)."""
    for callback in ctx.hooks.get(PaymentStatusHooks).on_change:
        callback(ctx, invoice, previous)
