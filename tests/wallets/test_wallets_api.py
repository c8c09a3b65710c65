"""``/wallets`` and ``/customers/{id}/wallets``: create, read, list, update, terminate,
metadata, Lago's validation codes, webhooks and the customer hooks."""

from __future__ import annotations

from typing import Any

from tests.billing.helpers import add_endpoint, customer
from tests.pricing.helpers import create_metric, ok
from tests.wallets.helpers import assert_ledger, create_wallet, get_wallet, wallet_webhooks, webhook_counts


def _errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 422, response.text
    details: dict[str, list[str]] = response.json()["error_details"]
    return details


def test_create_with_initial_credits_and_defaults(api, runtime):
    add_endpoint(api)
    customer(api)
    wallet = create_wallet(api, name="Prepaid Main", granted_credits="10.5", rate_amount="2")
    assert wallet["code"] == "prepaid_main"
    assert (wallet["priority"], wallet["status"], wallet["currency"], wallet["rate_amount"]) == (
        50,
        "active",
        "EUR",
        "2.0",
    )
    assert (wallet["credits_balance"], wallet["balance_cents"]) == ("10.5", 2100)
    assert (wallet["ongoing_balance_cents"], wallet["credits_ongoing_balance"]) == (2100, "10.5")
    assert wallet["applies_to"] == {"fee_types": [], "billable_metric_codes": []}
    assert wallet["recurring_transaction_rules"] == []
    assert "metadata" not in wallet
    assert ok(api.get("/customers/cus_1"))["customer"]["currency"] == "EUR"
    assert webhook_counts(runtime, "wallet.created", "wallet.updated", "wallet_transaction.created") == {
        "wallet.created": 1,
        "wallet.updated": 1,
        "wallet_transaction.created": 1,
    }
    created = wallet_webhooks(runtime, "wallet.created")[0][1]
    assert (created["lago_id"], created["recurring_transaction_rules"]) == (wallet["lago_id"], [])
    assert_ledger(runtime)


def test_default_code_is_suffixed_when_taken_and_explicit_codes_are_unique(api, runtime):
    customer(api)
    first = create_wallet(api, name="Main")
    second = create_wallet(api, name="Main")
    assert first["code"] == "main"
    assert second["code"].startswith("main_")
    assert create_wallet(api, code="abc")["code"] == "abc"
    assert _errors(api.post("/wallets", {"wallet": _body(code="abc")})) == {"code": ["value_already_exist"]}
    assert create_wallet(api)["code"] == "default"


def _body(customer_id: str = "cus_1", **fields: Any) -> dict[str, Any]:
    return {"external_customer_id": customer_id, "rate_amount": "1", "currency": "EUR", **fields}


def test_create_validation_codes(api, runtime):
    customer(api)
    assert _errors(api.post("/wallets", {"wallet": _body("nobody")})) == {"customer": ["customer_not_found"]}
    details = _errors(
        api.post(
            "/wallets",
            {
                "wallet": _body(
                    paid_credits="abc",
                    granted_credits="-1",
                    expiration_at="2020-01-01T00:00:00Z",
                    applies_to={"fee_types": ["nope"]},
                    transaction_metadata=[{"key": "k"}],
                )
            },
        )
    )
    assert details == {
        "paid_credits": ["invalid_paid_credits", "invalid_amount"],
        "granted_credits": ["invalid_granted_credits", "invalid_amount"],
        "expiration_at": ["invalid_date"],
        "metadata": ["invalid_key_value_pair"],
        "applies_to": ["invalid_limitations"],
    }
    assert _errors(api.post("/wallets", {"wallet": _body(rate_amount="0")})) == {
        "rate_amount": ["value_is_out_of_range"]
    }
    assert _errors(api.post("/wallets", {"wallet": _body(currency="XXX")})) == {
        "currency": ["value_is_invalid"]
    }
    assert _errors(api.post("/wallets", {"wallet": _body(priority=51)})) == {"priority": ["value_is_invalid"]}
    assert _errors(
        api.post(
            "/wallets", {"wallet": _body(paid_top_up_min_amount_cents=500, paid_top_up_max_amount_cents=100)}
        )
    ) == {"paid_top_up_max_amount_cents": ["must_be_greater_than_or_equal_min"]}
    assert _errors(api.post("/wallets", {"wallet": _body(granted_credits="0.001")})) == {
        "granted_credits": ["amount_rounds_to_zero"]
    }
    assert _errors(
        api.post("/wallets", {"wallet": _body(paid_credits="1", paid_top_up_min_amount_cents=500)})
    ) == {"paid_credits": ["amount_below_minimum"]}
    assert _errors(api.post("/wallets", {"wallet": _body(recurring_transaction_rules=[{}, {}])})) == {
        "recurring_transaction_rules": ["invalid_number_of_recurring_rules"]
    }
    assert _errors(
        api.post("/wallets", {"wallet": _body(recurring_transaction_rules=[{"trigger": "interval"}])})
    ) == {"recurring_transaction_rules": ["invalid_recurring_rule"]}
    assert api.post("/wallets", {"wallet": {}}).status_code == 400
    assert ok(api.get("/wallets", external_customer_id="cus_1"))["wallets"] == []


def test_wallet_limit_and_currency_lock(api, runtime):
    customer(api, currency="EUR")
    for index in range(6):
        create_wallet(api, code=f"w{index}")
    assert _errors(api.post("/wallets", {"wallet": _body(code="w7")})) == {
        "customer": ["wallet_limit_reached"]
    }
    response = api.post("/customers", {"customer": {"external_id": "cus_1", "currency": "USD"}})
    assert _errors(response) == {"currency": ["currencies_does_not_match"]}


def test_customer_routes_get_list_update_and_terminate(api, runtime, other_api):
    add_endpoint(api)
    customer(api)
    customer(api, "cus_2")
    create_metric(api, "calls")
    wallet = ok(
        api.post(
            "/customers/cus_1/wallets",
            {"wallet": {"rate_amount": "1", "currency": "EUR", "code": "main", "priority": 3}},
        )
    )["wallet"]
    create_wallet(api, "cus_2", code="other")
    assert api.post("/customers/nobody/wallets", {"wallet": _body()}).status_code == 404
    assert ok(api.get("/customers/cus_1/wallets/main"))["wallet"]["lago_id"] == wallet["lago_id"]
    listed = ok(api.get("/customers/cus_1/wallets"))
    assert [w["code"] for w in listed["wallets"]] == ["main"]
    assert listed["meta"]["total_count"] == 1
    assert len(ok(api.get("/wallets"))["wallets"]) == 2
    assert ok(api.get("/wallets", currency="USD"))["wallets"] == []
    assert api.get("/wallets", external_customer_id="nobody").status_code == 404
    updated = ok(
        api.put(
            "/customers/cus_1/wallets/main",
            {
                "wallet": {
                    "name": "Renamed",
                    "priority": 1,
                    "applies_to": {"fee_types": ["charge"], "billable_metric_codes": ["calls"]},
                    "paid_top_up_max_amount_cents": 10_000,
                }
            },
        )
    )["wallet"]
    assert (updated["name"], updated["priority"], updated["paid_top_up_max_amount_cents"]) == (
        "Renamed",
        1,
        10_000,
    )
    assert updated["applies_to"] == {"fee_types": ["charge"], "billable_metric_codes": ["calls"]}
    kept = ok(api.put(f"/wallets/{wallet['lago_id']}", {"wallet": {"name": "Again"}}))["wallet"]
    assert kept["applies_to"]["billable_metric_codes"] == ["calls"]
    assert _errors(
        api.put(f"/wallets/{wallet['lago_id']}", {"wallet": {"applies_to": {"fee_types": ["x"]}}})
    ) == {"allowed_fee_types": ["invalid_fee_types"]}
    assert other_api.get(f"/wallets/{wallet['lago_id']}").status_code == 404
    assert api.get("/wallets/not-a-uuid").json()["code"] == "wallet_not_found"
    terminated = ok(api.delete("/customers/cus_1/wallets/main"))["wallet"]
    assert (terminated["status"], terminated["terminated_at"]) == ("terminated", "2024-01-01T00:00:00Z")
    assert ok(api.delete(f"/wallets/{wallet['lago_id']}"))["wallet"]["status"] == "terminated"
    assert _errors(api.put(f"/wallets/{wallet['lago_id']}", {"wallet": {"name": "x"}})) == {
        "wallet_id": ["wallet_is_terminated"]
    }
    assert webhook_counts(runtime, "wallet.created", "wallet.updated", "wallet.terminated") == {
        "wallet.created": 2,
        "wallet.updated": 2,
        "wallet.terminated": 1,
    }


def test_metadata_sub_resource(api, runtime):
    add_endpoint(api)
    customer(api)
    wallet = create_wallet(api, code="main", metadata={"a": "1"})
    assert wallet["metadata"] == {"a": "1"}
    path = f"/wallets/{wallet['lago_id']}/metadata"
    assert ok(api.client.patch("/api/v1" + path, headers=api.headers, json={"metadata": {"b": "2"}})) == {
        "metadata": {"a": "1", "b": "2"}
    }
    assert ok(api.post(path, {"metadata": {"c": None}})) == {"metadata": {"c": None}}
    assert ok(api.delete(f"{path}/c")) == {"metadata": {}}
    assert ok(api.delete(path)) == {"metadata": None}
    assert api.delete(f"{path}/c").status_code == 404
    customer_path = "/customers/cus_1/wallets/main/metadata"
    assert ok(api.post(customer_path, {"metadata": {"x": "y"}})) == {"metadata": {"x": "y"}}
    assert get_wallet(api, wallet["lago_id"])["metadata"] == {"x": "y"}
    too_long = api.post(customer_path, {"metadata": {"k" * 101: "v"}})
    assert too_long.status_code == 422
    assert webhook_counts(runtime, "wallet.updated") == {"wallet.updated": 4}


def test_recurring_rule_create_and_replace(api, runtime):
    customer(api)
    rule = {
        "trigger": "interval",
        "interval": "monthly",
        "granted_credits": "5",
        "transaction_name": "Monthly",
    }
    wallet = create_wallet(api, recurring_transaction_rules=[rule])
    [created] = wallet["recurring_transaction_rules"]
    assert (created["trigger"], created["interval"], created["method"], created["status"]) == (
        "interval",
        "monthly",
        "fixed",
        "active",
    )
    assert (created["granted_credits"], created["paid_credits"], created["grants_target_top_up"]) == (
        "5.0",
        "0.0",
        False,
    )
    path = f"/wallets/{wallet['lago_id']}"
    same = {"lago_id": created["lago_id"], "trigger": "interval", "interval": "weekly"}
    [updated] = ok(api.put(path, {"wallet": {"recurring_transaction_rules": [same]}}))["wallet"][
        "recurring_transaction_rules"
    ]
    assert (updated["lago_id"], updated["interval"], updated["granted_credits"]) == (
        created["lago_id"],
        "weekly",
        "5.0",
    )
    target = {
        "trigger": "threshold",
        "threshold_credits": "10",
        "method": "target",
        "target_ongoing_balance": "50",
    }
    [replaced] = ok(api.put(path, {"wallet": {"recurring_transaction_rules": [target]}}))["wallet"][
        "recurring_transaction_rules"
    ]
    assert replaced["lago_id"] != created["lago_id"]
    assert (replaced["method"], replaced["target_ongoing_balance"], replaced["grants_target_top_up"]) == (
        "target",
        "50.0",
        False,
    )
    bad = {
        "trigger": "threshold",
        "threshold_credits": "60",
        "method": "target",
        "target_ongoing_balance": "50",
    }
    assert _errors(api.put(path, {"wallet": {"recurring_transaction_rules": [bad]}})) == {
        "recurring_transaction_rules": ["invalid_recurring_rule"]
    }
    assert (
        ok(api.put(path, {"wallet": {"recurring_transaction_rules": []}}))["wallet"][
            "recurring_transaction_rules"
        ]
        == []
    )


def test_customer_deletion_terminates_its_wallets(api, runtime):
    add_endpoint(api)
    customer(api)
    wallet = create_wallet(api, granted_credits="3")
    ok(api.delete("/customers/cus_1"))
    assert get_wallet(api, wallet["lago_id"])["status"] == "terminated"
    assert webhook_counts(runtime, "wallet.terminated") == {"wallet.terminated": 1}
    assert_ledger(runtime)


def test_deleted_metric_no_longer_limits_wallets(api, runtime):
    customer(api)
    create_metric(api, "calls")
    wallet = create_wallet(api, applies_to={"billable_metric_codes": ["calls"]})
    ok(api.delete("/billable_metrics/calls"))
    assert get_wallet(api, wallet["lago_id"])["applies_to"]["billable_metric_codes"] == []
