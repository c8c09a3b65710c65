"""Invoice numbers (billing.md §4.7, §8 Ex23): per customer, per billing entity, drafts."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.billing.helpers import customer, drain, invoices, plan, start_clock, subscribe, tick_at
from tests.pricing.helpers import ok


def _organization(api, **fields):
    return ok(api.put("/organizations", {"organization": fields}))


def _numbers(api, issuing_date: str) -> set[str]:
    return {i["number"] for i in invoices(api) if i["issuing_date"] == issuing_date}


def test_ex23_numbering_per_customer_then_per_billing_entity_and_back(api, runtime):
    start_clock(runtime, datetime(2023, 6, 15, 9, tzinfo=UTC))
    _organization(api, document_number_prefix="BENT-1")
    plan(api, amount_cents=3000)
    for n in (1, 2, 3):
        customer(api, f"cus_{n}")
        subscribe(api, customer_id=f"cus_{n}", external_id=f"sub_{n}")
    drain(api, runtime)
    for month in (7, 8, 9):
        tick_at(runtime, datetime(2023, month, 1, tzinfo=UTC))
    assert _numbers(api, "2023-07-01") == {"BENT-1-001-001", "BENT-1-002-001", "BENT-1-003-001"}
    assert _numbers(api, "2023-08-01") == {"BENT-1-001-002", "BENT-1-002-002", "BENT-1-003-002"}
    tick_at(runtime, datetime(2023, 9, 15, tzinfo=UTC))
    _organization(api, document_numbering="per_organization", document_number_prefix="BENT-11")
    tick_at(runtime, datetime(2023, 10, 1, tzinfo=UTC))
    assert _numbers(api, "2023-10-01") == {"BENT-11-202310-010", "BENT-11-202310-011", "BENT-11-202310-012"}
    _organization(api, document_numbering="per_customer")
    tick_at(runtime, datetime(2023, 11, 1, tzinfo=UTC))
    assert _numbers(api, "2023-11-01") == {"BENT-11-001-005", "BENT-11-002-005", "BENT-11-003-005"}
    first_customer = [i for i in invoices(api) if i["customer"]["external_id"] == "cus_1"]
    sequential = sorted(i["sequential_id"] for i in first_customer)
    assert sequential == [1, 2, 3, 4, 5]


def test_per_billing_entity_sequence_never_resets_monthly(api, runtime):
    start_clock(runtime, datetime(2023, 12, 15, 9, tzinfo=UTC))
    _organization(api, document_numbering="per_organization", document_number_prefix="ACME")
    plan(api, amount_cents=3000)
    customer(api)
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 1, 1, tzinfo=UTC))
    tick_at(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    assert [i["number"] for i in invoices(api)] == ["ACME-202401-001", "ACME-202402-002"]


def test_drafts_are_numbered_only_when_finalized(api, runtime):
    start_clock(runtime, datetime(2024, 1, 15, 9, tzinfo=UTC))
    _organization(api, document_number_prefix="BENT-1")
    plan(api, amount_cents=3100, pay_in_advance=True)
    customer(api, billing_configuration={"invoice_grace_period": 2})
    subscribe(api)
    drain(api, runtime)
    [draft] = invoices(api)
    assert (draft["status"], draft["number"], draft["sequential_id"]) == ("draft", "BENT-1-DRAFT", None)
    final = ok(api.put(f"/invoices/{draft['lago_id']}/finalize"))["invoice"]
    assert (final["status"], final["number"], final["sequential_id"]) == ("finalized", "BENT-1-001-001", 1)
