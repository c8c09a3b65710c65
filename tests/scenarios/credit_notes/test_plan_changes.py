"""billing.md §8 credit notes of plan changes of pay-in-advance plans (§6.4.3), through the public
API and the test clock: an upgrade credits the unused days, the upgrade day included (Ex4, Ex6),
and the new invoice consumes the note; a downgrade applies at the end of the paid period and
issues none (Ex5, as Lago's ``terminate_and_start_next``), unless the subscription is
terminated before it applies."""

from __future__ import annotations

import pytest

from tests.billing.helpers import (
    clock,
    fee_of,
    invoices,
    terminate,
)
from tests.credit_notes.helpers import amounts, credit_notes, credited, split
from tests.pricing.helpers import ok
from tests.scenarios.helpers import (
    change_to_yearly,
    ex4_monthly_until_the_upgrade,
    ex5_monthly_until_the_downgrade,
    ex6_plans_a_and_b_billed_for_january,
    ex6_upgrade_to_b_on_february_12,
)

pytestmark = pytest.mark.slow


def test_ex6_upgrade_credits_unused_days_and_the_new_invoice_consumes_them(api, runtime):
    ex6_plans_a_and_b_billed_for_january(api, runtime)
    february = invoices(api)[-1]
    ex6_upgrade_to_b_on_february_12(api, runtime)
    [note] = credit_notes(api)
    # 18 unused days of 29, the upgrade day included: 2900 × 18/29.
    assert amounts(note) == (1800, 0, 1800)
    assert (note["reason"], note["lago_invoice_id"]) == ("order_cancellation", february["lago_id"])
    assert note["items"][0]["fee"]["lago_id"] == fee_of(february, "subscription")["lago_id"]
    upgrade = invoices(api)[-1]
    assert credited(upgrade) == (18190, 1800, 16390)
    assert split(credit_notes(api)[0]) == (1800, 0, 0, 0)
    assert credit_notes(api)[0]["credit_status"] == "consumed"


def test_ex4_upgrade_monthly_to_yearly_credits_one_day(api, runtime):
    ex4_monthly_until_the_upgrade(api, runtime)
    change_to_yearly(api)
    clock(api, "2023-09-28T05:00:05Z")
    [note] = credit_notes(api)
    assert amounts(note) == (32, 0, 32)
    assert note["items"][0]["precise_amount_cents"] == "32.25806"
    upgrade = invoices(api)[-1]
    assert credited(upgrade) == (9016, 32, 8984)


def test_ex5_downgrade_issues_no_credit_note(api, runtime):
    ex5_monthly_until_the_downgrade(api, runtime)
    change_to_yearly(api)
    assert credit_notes(api) == []
    clock(api, "2023-11-19T02:00:00Z")
    assert credit_notes(api) == []
    downgrade = invoices(api)[-1]
    assert credited(downgrade) == (78875, 0, 78875)


def test_downgrade_pending_then_termination_credits_the_old_plan(api, runtime):
    """The downgrade waits for the end of the paid period; terminating before then credits the
    old plan's unused days and cancels the pending subscription."""
    ex5_monthly_until_the_downgrade(api, runtime)
    change_to_yearly(api)
    last_paid = invoices(api)[-1]
    assert last_paid["fees_amount_cents"] == 12900
    terminate(api)
    clock(api, "2023-11-09T10:00:05Z")
    [note] = credit_notes(api)
    # Period 10-19 → 11-18 (31 days); terminated 11-09: 9 unused days (11-10 … 11-18).
    assert amounts(note) == (3745, 0, 3745)
    assert note["lago_invoice_id"] == last_paid["lago_id"]
    subs = ok(api.get("/subscriptions", external_customer_id="cus_1", **{"status[]": "canceled"}))
    assert [s["plan_code"] for s in subs["subscriptions"]] == ["yearly"]
