"""The statements one periodic invoice costs (a budget, not a timing): a plain customer — no
coupon, credit note, wallet, progressive invoice, tax or webhook endpoint — billed on its billing
day. Each statement is about 0.4 ms of a billing run (README, "Billing run"); a change that adds
one should say so here."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import event as sa_event

from tests.billing.helpers import customer, drain, invoices, start_clock, subscribe
from tests.pricing.helpers import ok
from tests.usage.helpers import charge, event, metric

BILLING_DAY = datetime(2024, 2, 1, tzinfo=UTC)


def _kind(statement: str) -> str:
    """``SELECT <table of the outermost FROM>`` / ``INSERT <table>`` / ``UPDATE <table>``."""
    words = statement.split()
    head = words[0].upper()
    if head == "INSERT":
        return f"INSERT {words[2]}"
    if head == "UPDATE":
        return f"UPDATE {words[1]}"
    if head not in ("SELECT", "WITH"):
        return head
    depth, table = 0, "-"
    for word, following in zip(words, [*words[1:], ""], strict=True):
        if depth == 0 and word.upper() == "FROM":
            table = "(subquery)" if following.startswith("(") else following
            break
        depth += word.count("(") - word.count(")")
    locked = "FOR" in (w.upper() for w in words) and "UPDATE" in (w.upper() for w in words)
    return f"SELECT {table}" + (" FOR UPDATE" if locked else "")


def test_a_plain_periodic_invoice_costs_its_statement_budget(api, runtime):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    calls = metric(api, "calls")
    ok(
        api.post(
            "/plans",
            {
                "plan": {
                    "name": "Pro",
                    "code": "pro",
                    "interval": "monthly",
                    "amount_cents": 1000,
                    "amount_currency": "EUR",
                    "pay_in_advance": False,
                    "charges": [charge(calls, properties={"amount": "0.5"})],
                }
            },
        )
    )
    for n in (1, 2):
        customer(api, f"cus_{n}")
        subscribe(api, external_id=f"sub_{n}", customer_id=f"cus_{n}")
        event(api, "calls", datetime(2024, 1, 12, tzinfo=UTC), sub=f"sub_{n}")
    drain(api, runtime)
    assert runtime.manual_clock is not None
    runtime.manual_clock.set(BILLING_DAY)
    runtime.scheduler.run_tick(BILLING_DAY)

    statements: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    sa_event.listen(runtime.db.engine, "before_cursor_execute", record)
    try:
        assert runtime.worker.drain() == 2
    finally:
        sa_event.remove(runtime.db.engine, "before_cursor_execute", record)

    # One job per customer, each ending with its own job UPDATE (mark_succeeded); the first job
    # of the batch also reads the catalog: the second shows what an invoice costs.
    ends = [i for i, s in enumerate(statements) if s.startswith("UPDATE jobs") and "finished_at" in s]
    assert len(ends) == 2
    second = Counter(_kind(s) for s in statements[ends[0] + 1 : ends[1] + 1])
    expected = Counter(
        {
            "SELECT customers": 1,  # with its billing entity and whether it has taxes
            "SELECT subscriptions": 1,  # with its next_subscription
            "INSERT invoices": 1,
            "INSERT invoice_subscriptions": 1,  # ON CONFLICT DO NOTHING on the period index
            "SELECT (subquery)": 2,  # history (fee counts + invoice-subscriptions); the usage aggregate
            "SELECT -": 1,  # the presence probe: EXISTS coupons, credit notes, wallets (no FROM)
            "INSERT fees": 1,
            "SELECT invoices": 1,  # numbering: the customer's highest sequential id
            "UPDATE invoices": 1,  # amounts, number and status together
            "SELECT webhook_endpoints": 1,
            "SELECT wallets": 1,  # any active wallet (ongoing balance refresh after finalization)
            "UPDATE jobs": 1,
        }
    )
    if runtime.db.is_postgres:
        expected["SELECT customers FOR UPDATE"] = 1  # the numbering lock (FOR NO KEY UPDATE)
    else:
        expected["BEGIN"] = 1  # BEGIN IMMEDIATE: SQLite takes the write lock up front
    assert second == expected, sorted((second - expected).items()) + sorted((expected - second).items())
    # 1,000 × 22/31 days (started 10 January) = 710, plus one call at 0.50
    assert [i["total_amount_cents"] for i in invoices(api)] == [760, 760]
