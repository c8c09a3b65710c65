"""Which wallet unbilled usage will be taken from (pure; Lago's ongoing-usage allocation).

Usage amounts are netted per key ``(fee_type, billable metric, currency)``; a key whose net is
not positive receives nothing, but still lowers its currency's budget (the way credits lower an
invoice total). Keys are served largest first; each goes to the wallets that would pay it
(``billow.billing.math.wallets.wallet_applies_to``), in application order: a wallet takes up to
its balance not yet allocated, except a wallet with an active threshold rule and the last
applicable wallet, which absorb the rest (and may go negative, so that a rule can refill them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billow.billing.math.wallets import FeeBucket, Wallet, wallet_applies_to
from billow.core.money import ZERO

UsageKey = tuple[str, str | None, str]
"""``(fee_type, billable_metric_id, currency)``."""


@dataclass(frozen=True, slots=True)
class UsageAmount:
    fee_type: str
    billable_metric_id: str | None
    currency: str
    amount_cents: Decimal

    @property
    def key(self) -> UsageKey:
        metric = self.billable_metric_id if self.fee_type == "charge" else None
        return (self.fee_type, metric, self.currency)


def allocate_ongoing_usage(
    wallets: Sequence[Wallet], amounts: Sequence[UsageAmount], threshold_wallet_ids: frozenset[str]
) -> Mapping[str, int]:
    """Ongoing usage cents per wallet id (``wallets`` in application order)."""
    net: dict[UsageKey, Decimal] = {}
    for item in amounts:
        net[item.key] = net.get(item.key, ZERO) + item.amount_cents
    budgets: dict[str, Decimal] = {}
    for key, value in net.items():
        budgets[key[2]] = budgets.get(key[2], ZERO) + value
    budgets = {currency: max(value, ZERO) for currency, value in budgets.items()}
    allocations: dict[str, Decimal] = {w.id: ZERO for w in wallets}
    pool = sorted(
        ((key, value) for key, value in net.items() if value > 0),
        key=lambda kv: (-kv[1], tuple(str(part) for part in kv[0])),
    )
    for key, value in pool:
        fee_type, metric, currency = key
        remaining = min(value, budgets[currency])
        bucket = FeeBucket(fee_type=fee_type, billable_metric_id=metric, target_wallet_code=None, cap=value)
        applicable = [w for w in wallets if w.currency == currency and wallet_applies_to(w, bucket)]
        for index, wallet in enumerate(applicable):
            if remaining <= 0:
                break
            if wallet.id in threshold_wallet_ids or index == len(applicable) - 1:
                take = remaining
            else:
                room = Decimal(wallet.balance_cents) - allocations[wallet.id]
                if room <= 0:
                    continue
                take = min(remaining, room)
            allocations[wallet.id] += take
            remaining -= take
            budgets[currency] -= take
    return {wallet_id: int(value) for wallet_id, value in allocations.items()}
