"""Coupons consumed under concurrency (billing.md §6.1 "under a customer lock"): two sessions
finalizing the same draft at once apply its coupon once; two invoices of one customer finalized at
once share a fixed ``once`` coupon instead of each taking it whole. PostgreSQL only (SQLite
serializes writers)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from billow.billing import service
from billow.billing.fees.engine import build_fee_engine
from billow.billing.models import Credit, Invoice
from billow.db.context import Ctx
from billow.webhooks.models import Webhook
from tests.billing.coupon_helpers import applied_coupons, apply, coupon
from tests.billing.helpers import add_endpoint, customer, drain, invoices, plan, start_clock, subscribe

pytestmark = pytest.mark.postgres_only


def _finalize_concurrently(runtime: Any, org: Any, invoice_ids: list[str]) -> list[BaseException]:
    barrier = threading.Barrier(len(invoice_ids))
    errors: list[BaseException] = []

    def run(lago_id: str) -> None:
        try:
            with runtime.db.session() as session:
                ctx = Ctx(session, runtime.clock, runtime.settings, org.id, hooks=runtime.hooks)
                invoice = service.find_invoice(ctx, lago_id, statuses=("draft", "finalized"))
                barrier.wait(timeout=10)
                service.finalize(ctx, build_fee_engine(), invoice)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in invoice_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _drafts_with_coupon(api: Any, runtime: Any, subscriptions: int, **coupon_fields: Any) -> list[str]:
    start_clock(runtime, datetime(2024, 1, 1, 9, tzinfo=UTC))
    add_endpoint(api)
    customer(api, billing_configuration={"invoice_grace_period": 3})
    plan(api, amount_cents=3100, pay_in_advance=True)
    coupon(api, "off", **coupon_fields)
    apply(api, "off")
    for n in range(1, subscriptions + 1):
        subscribe(
            api, external_id=f"sub_{n}", subscription_at="2024-01-01T00:00:00Z", consolidate_invoice=False
        )
    drain(api, runtime)
    drafts = [i["lago_id"] for i in invoices(api) if i["status"] == "draft"]
    assert len(drafts) == subscriptions
    return drafts


def test_one_draft_finalized_twice_at_once_consumes_its_coupon_once(api, runtime, org):
    [draft] = _drafts_with_coupon(
        api, runtime, 1, amount_cents=1000, frequency="recurring", frequency_duration=3
    )
    errors = _finalize_concurrently(runtime, org, [draft, draft])
    assert errors == []
    [final] = invoices(api)
    assert (final["status"], final["coupons_amount_cents"], final["total_amount_cents"]) == (
        "finalized",
        1000,
        2100,
    )
    assert [c["amount_cents"] for c in final["credits"]] == [1000]
    off = applied_coupons(api)["off"]
    assert (off["status"], off["frequency_duration_remaining"], len(off["credits"])) == ("active", 2, 1)
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Credit)) == 1
        created = session.scalar(
            select(func.count()).select_from(Webhook).where(Webhook.webhook_type == "invoice.created")
        )
        numbers = list(session.scalars(select(Invoice.number)))
    assert created == 1
    assert len(numbers) == 1 and not numbers[0].endswith("DRAFT")


def test_two_drafts_finalized_at_once_share_a_fixed_once_coupon(api, runtime, org):
    drafts = _drafts_with_coupon(api, runtime, 2, amount_cents=4000)
    errors = _finalize_concurrently(runtime, org, drafts)
    assert errors == []
    found = invoices(api)
    assert sorted(i["coupons_amount_cents"] for i in found) == [900, 3100]
    off = applied_coupons(api)["off"]
    assert (off["status"], off["amount_cents_remaining"]) == ("terminated", 0)
    assert sorted(c["amount_cents"] for c in off["credits"]) == [900, 3100]
