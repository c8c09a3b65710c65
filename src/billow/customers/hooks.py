"""What the packages built on customers do for them (wired by ``billow.runtime.build_hooks``).

Subscriptions, coupons, invoices and wallets import customers, so customers cannot import them:
they answer through these callbacks instead (see ``billow.core.hooks``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from billow.db.context import Ctx

CustomerCheck = Callable[[Ctx, uuid.UUID], bool]
CustomerAction = Callable[[Ctx, uuid.UUID], object]


@dataclass(frozen=True)
class CustomerHooks:
    """``currency_holders``: each answers whether the customer has something that fixes its
    currency (Lago's ``Customer#editable?``: subscriptions, invoices, fixed-amount coupons,
    wallets); any True locks the currency.

    ``on_delete``: run, in order and in the deleting transaction, once the customer is soft
    deleted (Lago's ``Customers::TerminateRelationsService``: terminate its subscriptions, cancel
    the pending ones, terminate its applied coupons and wallets).
    """

    currency_holders: tuple[CustomerCheck, ...] = ()
    on_delete: tuple[CustomerAction, ...] = ()
