"""Credits ↔ money for one wallet (pure; Lago's ``WalletCredit``).

* A requested credit amount is floored to 5 dp.
* Its money: ``amount = round_half_up(credits × rate_amount, currency exponent)``.
* Credits of an invoiceable top-up are re-derived from that money (only whole cents can be
  bought or granted): ``round_half_up(amount / rate_amount, 5)``. Voided credits keep the
  requested amount.
* Credits spent on an invoice come from its whole cents: ``floor(amount / rate_amount, 5)``
  (``billow.billing.math.credits_for_amount``).
* A top-up whose money rounds to 0 cents is refused (``amount_rounds_to_zero``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billow.core.currencies import currency_exponent
from billow.core.money import DECIMAL_CONTEXT, ZERO, cents_to_amount, floor, round_half_up

CREDIT_PLACES = 5
MAX_CREDITS = Decimal(10) ** 25 - 1


@dataclass(frozen=True, slots=True)
class Credit:
    credit_amount: Decimal
    amount: Decimal
    amount_cents: int


def floor_credits(value: Decimal) -> Decimal:
    return floor(value, CREDIT_PLACES)


def credit_of(credits: Decimal, rate_amount: Decimal, currency: str, *, invoiceable: bool = True) -> Credit:
    """The money of ``credits`` (already floored) at ``rate_amount``."""
    exponent = currency_exponent(currency)
    amount = round_half_up(DECIMAL_CONTEXT.multiply(credits, rate_amount), exponent)
    cents = int(amount.scaleb(exponent))
    credit_amount = (
        round_half_up(DECIMAL_CONTEXT.divide(amount, rate_amount), CREDIT_PLACES) if invoiceable else credits
    )
    return Credit(credit_amount=credit_amount, amount=amount, amount_cents=cents)


def credit_from_cents(cents: int, rate_amount: Decimal, currency: str) -> Credit:
    """Credits worth ``cents`` (an invoice consumption or a remaining amount), floored."""
    amount = cents_to_amount(cents, currency)
    return Credit(
        credit_amount=floor(DECIMAL_CONTEXT.divide(amount, rate_amount), CREDIT_PLACES),
        amount=amount,
        amount_cents=cents,
    )


def credits_of_cents(cents: int, rate_amount: Decimal, currency: str) -> Decimal:
    """Credits worth ``cents`` at 5 dp, half-up (ongoing balances, remaining amounts)."""
    amount = cents_to_amount(cents, currency)
    return round_half_up(DECIMAL_CONTEXT.divide(amount, rate_amount), CREDIT_PLACES)


def cents_of_credits(credits: Decimal, rate_amount: Decimal, currency: str) -> int:
    return credit_of(floor_credits(credits), rate_amount, currency).amount_cents


def rounds_to_zero(credits: Decimal | None, rate_amount: Decimal, currency: str) -> bool:
    """A positive credit amount whose money is 0 cents (Lago's ``WalletCredit.rounds_to_zero?``)."""
    if credits is None:
        return False
    floored = floor_credits(credits)
    if floored <= ZERO:
        return False
    return credit_of(floored, rate_amount, currency).amount_cents == 0
