"""A customer's currency is locked once it has subscriptions, invoices or fixed-amount coupons
(Lago's ``Customer#editable?``): ``POST /customers`` with another currency is then 422
``currency: currencies_does_not_match`` and changes nothing."""

from __future__ import annotations

from typing import Any

from billow.billing.customer_queries import customer_has_invoices
from billow.core.hooks import Hooks
from billow.customers.hooks import CustomerHooks
from billow.pricing.coupons.applied import customer_has_currency_coupons, terminate_customer_coupons
from billow.runtime import build_hooks
from billow.subscriptions.queries import customer_has_subscriptions
from billow.subscriptions.terminate import terminate_customer_subscriptions
from billow.wallets.wallets import customer_has_wallets, terminate_customer_wallets
from tests.integration.helpers import (
    FIXED_COUPON,
    PERCENT_COUPON,
    add_endpoint,
    counts,
    create_coupon,
    create_customer,
    create_plan,
    ok,
    subscribed,
    validation,
    webhook_types,
)

LOCKED = validation({"currency": ["currencies_does_not_match"]})


def upsert(api: Any, external_id: str = "cus_1", **fields: Any) -> Any:
    return api.post("/customers", {"customer": {"external_id": external_id, **fields}})


def assert_locked(api: Any, runtime: Any, currency: str | None, external_id: str = "cus_1") -> None:
    """The change is refused and nothing is written: no field, no webhook, no job."""
    before, hooks, customer = (
        counts(runtime),
        webhook_types(runtime),
        ok(api.get(f"/customers/{external_id}")),
    )
    r = upsert(api, external_id, currency=currency, name="Renamed", tax_codes=[])
    assert r.status_code == 422 and r.json() == LOCKED
    assert counts(runtime) == before and webhook_types(runtime) == hooks
    assert ok(api.get(f"/customers/{external_id}")) == customer


def test_runtime_wires_every_currency_holder() -> None:
    hooks = build_hooks().get(CustomerHooks)
    assert hooks.currency_holders == (
        customer_has_subscriptions,
        customer_has_invoices,
        customer_has_currency_coupons,
        customer_has_wallets,
    )
    assert hooks.on_delete == (
        terminate_customer_subscriptions,
        terminate_customer_coupons,
        terminate_customer_wallets,
    )


def test_a_subscription_locks_the_currency(api: Any, runtime: Any) -> None:
    add_endpoint(api)
    create_customer(api, "cus_1", currency="USD")
    # Nothing billed yet: the currency may change (and a customer.updated is sent).
    assert ok(upsert(api, currency="EUR"))["customer"]["currency"] == "EUR"
    create_plan(api, "pro")
    subscribed(api, "sub_1")
    assert_locked(api, runtime, "USD")
    assert_locked(api, runtime, None)  # Lago: removing it is a change too
    # The same currency is no change: the rest of the update goes through.
    same = ok(upsert(api, currency="EUR", name="Renamed"))["customer"]
    assert (same["currency"], same["name"]) == ("EUR", "Renamed")
    # Still locked once the subscription is terminated (any subscription counts).
    ok(api.delete("/subscriptions/sub_1"))
    assert_locked(api, runtime, "USD")


def test_a_fixed_amount_coupon_locks_the_currency_a_percentage_one_does_not(api: Any, runtime: Any) -> None:
    create_customer(api, "cus_1")
    create_customer(api, "cus_2", currency="USD")
    create_coupon(api, FIXED_COUPON)
    create_coupon(api, PERCENT_COUPON)
    ok(
        api.post(
            "/applied_coupons",
            {"applied_coupon": {"external_customer_id": "cus_1", "coupon_code": "startup"}},
        )
    )
    ok(
        api.post(
            "/applied_coupons", {"applied_coupon": {"external_customer_id": "cus_2", "coupon_code": "ten"}}
        )
    )
    assert ok(api.get("/customers/cus_1"))["customer"]["currency"] == "EUR"  # set by the coupon
    assert_locked(api, runtime, "USD")
    assert ok(upsert(api, "cus_2", currency="EUR"))["customer"]["currency"] == "EUR"


def test_an_invoice_locks_the_currency(api: Any, runtime: Any) -> None:
    """Only the invoices holder is wired here, so that the subscription does not lock first."""
    runtime.hooks = Hooks(CustomerHooks(currency_holders=(customer_has_invoices,)))
    create_customer(api, "cus_1")
    create_plan(api, "pro", pay_in_advance=True)
    subscribed(api, "sub_1")
    assert ok(upsert(api, currency="USD"))["customer"]["currency"] == "USD"
    assert ok(upsert(api, currency="EUR"))["customer"]["currency"] == "EUR"
    # The start invoice of the pay-in-advance plan is issued by the queued billing job.
    ok(api.post("/test_helpers/clock", {"clock": {"now": "2024-01-01T00:00:00Z"}}))
    assert len(ok(api.get("/invoices", external_customer_id="cus_1"))["invoices"]) == 1
    assert_locked(api, runtime, "USD")
