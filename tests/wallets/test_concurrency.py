"""Concurrent finalizations against one wallet (PostgreSQL): 20 draft invoices of one customer,
each finalized by its own thread and session, never take more prepaid credits than the wallet
holds, and the ledger invariant holds after (checked again by the autouse fixture)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from billow.billing import service
from billow.billing.fees.engine import build_fee_engine
from billow.billing.models import Invoice
from billow.db.context import Ctx
from billow.wallets.models import WalletTransaction
from tests.billing.helpers import customer, drain, invoices, plan, start_clock, subscribe
from tests.credit_notes.helpers import at
from tests.wallets.helpers import assert_ledger, create_wallet, get_wallet

DRAFTS = 20


@pytest.mark.slow
@pytest.mark.postgres_only
def test_parallel_finalizations_never_overspend_the_wallet(api, runtime, org):
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    customer(api, billing_configuration={"invoice_grace_period": 3})
    plan(api, amount_cents=1000, pay_in_advance=True)
    for n in range(DRAFTS):
        subscribe(api, external_id=f"sub_{n}")
    drain(api, runtime)
    drafts = [i["lago_id"] for i in invoices(api)]
    assert len(drafts) == DRAFTS
    assert {i["status"] for i in invoices(api)} == {"draft"}
    # 95.50 credits pay 9 invoices of 1000 and 550 of a tenth.
    wallet = create_wallet(api, name="w", granted_credits="95.5")
    barrier = threading.Barrier(DRAFTS)
    errors: list[BaseException] = []

    def finalize(lago_id: str) -> None:
        try:
            barrier.wait(timeout=30)
            with runtime.db.session() as session:
                ctx = Ctx(session, runtime.clock, runtime.settings, org.id, hooks=runtime.hooks)
                invoice = session.get(Invoice, uuid.UUID(lago_id))
                assert invoice is not None
                service.finalize(ctx, build_fee_engine(), invoice)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=finalize, args=(lago_id,)) for lago_id in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = invoices(api)
    assert {i["status"] for i in found} == {"finalized"}
    prepaid = sorted(i["prepaid_credit_amount_cents"] for i in found)
    assert sum(prepaid) == 9550
    assert prepaid == [0] * 10 + [550] + [1000] * 9
    assert sum(i["total_amount_cents"] for i in found) == DRAFTS * 1000 - 9550
    after = get_wallet(api, wallet["lago_id"])
    assert (after["balance_cents"], after["credits_balance"], after["consumed_credits"]) == (0, "0.0", "95.5")
    with runtime.db.session() as session:
        outbound = session.scalar(
            select(func.count()).where(WalletTransaction.transaction_type == "outbound")
        )
    assert outbound == 10
    assert_ledger(runtime)
