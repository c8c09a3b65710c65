"""The usage statements read the events index alone where they can: a count aggregation (what
``current_usage`` and every invoice run) never fetches an event row on SQLite — the aggregation
index ends with ``deleted_at``, which every aggregation asks to be NULL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event as sa_event

from tests.billing.helpers import customer, drain, plan, start_clock, subscribe
from tests.usage.helpers import charge, current_usage, event, metric


def test_a_count_aggregation_reads_the_events_index_alone(api, runtime):
    if runtime.db.is_postgres:
        pytest.skip("PostgreSQL's index-only scans depend on the visibility map, not the statement")
    start_clock(runtime, datetime(2024, 1, 10, 12, tzinfo=UTC))
    customer(api)
    calls = metric(api, "calls")
    plan(api, amount_cents=3000, charges=[charge(calls, properties={"amount": "0.5"})])
    subscribe(api)
    drain(api, runtime)
    for hour in range(3):
        event(api, "calls", datetime(2024, 1, 11, hour, tzinfo=UTC))
    captured: list[tuple[str, object]] = []

    def record(conn, cursor, statement, params, context, executemany):
        if "FROM events" in statement and "count(*)" in statement:
            captured.append((statement, params))

    sa_event.listen(runtime.db.engine, "before_cursor_execute", record)
    try:
        usage = current_usage(api)
    finally:
        sa_event.remove(runtime.db.engine, "before_cursor_execute", record)
    assert [c["units"] for c in usage["charges_usage"]] == ["3.0"]
    assert len(captured) == 1
    statement, params = captured[0]
    with runtime.db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        plan_rows = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, params)]
    assert any(
        "USING COVERING INDEX ix_events_org_subscription_code_timestamp" in row for row in plan_rows
    ), plan_rows
