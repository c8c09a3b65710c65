"""The statements one periodic invoice costs (a budget, not a timing): plain customers — no
coupon, credit note, wallet, progressive invoice, tax or webhook endpoint — billed on their billing
day, their jobs claimed together and run as one group (one transaction, ``JobKind.prepare``).
Each statement is about 0.4 ms of a billing run (README, "Billing run"); a change that adds one
should say so here."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import event as sa_event

from billow.billing import invoicing
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


def test_a_plain_periodic_invoice_costs_its_statement_budget(api, runtime, monkeypatch):
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
    for n in (1, 2, 3):
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

    real = invoicing.bill_subscriptions

    def marked(*args, **kwargs):
        statements.append("-- job")
        return real(*args, **kwargs)

    monkeypatch.setattr(invoicing, "bill_subscriptions", marked)
    sa_event.listen(runtime.db.engine, "before_cursor_execute", record)
    try:
        assert runtime.worker.drain() == 3
    finally:
        sa_event.remove(runtime.db.engine, "before_cursor_execute", record)

    starts = [i for i, s in enumerate(statements) if s == "-- job"]
    assert len(starts) == 3
    claimed = next(i for i, s in enumerate(statements) if s.startswith("UPDATE jobs"))
    group = Counter(_kind(s) for s in statements[claimed + 1 : starts[0]])
    # The group's bulk reads, once for all its jobs (billow.billing.prefetch).
    expected_group = Counter(
        {
            "SELECT customers": 1,  # with their billing entities and whether they have taxes
            "SELECT subscriptions": 1,  # with their next_subscription
            "SELECT applied_coupons": 1,  # who has an active coupon
            "SELECT credit_notes": 1,  # who has an available credit note
            "SELECT wallets": 1,  # who has an active wallet
            "SELECT invoices": 1,  # numbering: each customer's highest sequential id
            "SELECT fees": 1,  # history: the subscriptions' subscription fees
            "SELECT invoice_subscriptions": 1,  # history: their invoice-subscriptions
        }
    )
    if runtime.db.is_postgres:
        # numbering: the customers locked together, in id order (FOR NO KEY UPDATE)
        expected_group["SELECT customers FOR UPDATE"] = 1
    else:
        expected_group["BEGIN"] = 1  # BEGIN IMMEDIATE: SQLite takes the write lock up front
    assert group == expected_group, sorted((group - expected_group).items()) + sorted(
        (expected_group - group).items()
    )
    # The first job also reads the catalog, the webhook endpoints and the usage aggregate of
    # every subscription of the plan (once for the group: aggregate_siblings); these reads flush
    # its rows as they go (as outside a group).
    first = Counter(_kind(s) for s in statements[starts[0] + 1 : starts[1]])
    assert first["SELECT (subquery)"] == 1  # the three subscriptions' aggregate
    written = ("INSERT invoices", "INSERT invoice_subscriptions", "INSERT fees", "UPDATE invoices")
    assert [first[k] for k in written] == [1, 1, 1, 2], first  # amounts, then number and status
    # The second and third jobs write nothing themselves: their rows wait for the group's flush
    # (billow.db.prefetch.defer_writes), which writes each table's rows of every job at once and
    # each invoice with its amounts, number and status (no UPDATE after its INSERT).
    done = next(i for i in range(starts[2], len(statements)) if statements[i].startswith("UPDATE jobs"))
    assert Counter(_kind(s) for s in statements[starts[1] + 1 : starts[2]]) == Counter()
    flushed = Counter(_kind(s) for s in statements[starts[2] + 1 : done])
    expected = Counter(
        {
            "INSERT invoices": 1,  # the second and third invoices
            "INSERT invoice_subscriptions": 1,
            "INSERT fees": 1,  # the second and third invoices' fees
        }
    )
    assert flushed == expected, sorted((flushed - expected).items()) + sorted((expected - flushed).items())
    # The group's jobs are marked succeeded together, after the last one.
    assert sum(1 for s in statements[claimed + 1 :] if s.startswith("UPDATE jobs")) == 1
    # 1,000 × 22/31 days (started 10 January) = 710, plus one call at 0.50
    assert [i["total_amount_cents"] for i in invoices(api)] == [760, 760, 760]
