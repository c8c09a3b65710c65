"""What billing tells the coupons package about its applied coupons (docs/adr/0003).

Invoices consume coupons through ``credits`` rows that billing owns. An applied coupon's API
object shows them: ``amount_cents_remaining`` (a fixed ``once`` coupon's amount minus its credits
on invoices that still count) and ``credits`` (Lago's ``CreditObject``). Billing answers through
:class:`AppliedCouponHooks`, wired by ``billow.runtime.build_hooks``; unwired, a coupon has no
credits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from billow.db.context import Ctx


@dataclass(frozen=True)
class CouponUsage:
    """``consumed_amount_cents``: Σ credits on invoices that are not voided, closed or deleted;
    ``credits``: every credit of the applied coupon (``CreditObject`` payloads), oldest first."""

    consumed_amount_cents: int = 0
    credits: tuple[dict[str, Any], ...] = ()


UsageReader = Callable[[Ctx, Collection[uuid.UUID]], Mapping[uuid.UUID, CouponUsage]]


@dataclass(frozen=True)
class AppliedCouponHooks:
    usage: UsageReader | None = None


def coupon_usage(ctx: Ctx, applied_coupon_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, CouponUsage]:
    """Each applied coupon's usage (an empty ``CouponUsage`` when nothing reports one)."""
    found: dict[uuid.UUID, CouponUsage] = {i: CouponUsage() for i in applied_coupon_ids}
    reader = ctx.hooks.get(AppliedCouponHooks).usage
    if reader is not None and found:
        found.update(reader(ctx, list(found)))
    return found
