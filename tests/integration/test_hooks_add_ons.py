"""``DELETE /add_ons/{code}`` as Lago: the add-on is soft deleted and so are the fixed charges on
it, in every plan (a subscription's child plan too), in the same transaction."""

from __future__ import annotations

from typing import Any

from tests.integration.helpers import (
    counts,
    create_customer,
    create_tax,
    embedded_tax,
    error,
    ok,
    rows,
    subscribed,
)


def create_add_on(api: Any, code: str, **fields: Any) -> dict[str, Any]:
    body = {"name": code.title(), "code": code, "amount_cents": 500, "amount_currency": "EUR", **fields}
    return ok(api.post("/add_ons", {"add_on": body}))["add_on"]


def create_plan(api: Any) -> dict[str, Any]:
    body = {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "EUR",
        "pay_in_advance": False,
        "fixed_charges": [
            {"add_on_code": "setup", "charge_model": "standard", "units": 1},
            {"add_on_code": "support", "charge_model": "standard", "units": 2},
        ],
    }
    return ok(api.post("/plans", {"plan": body}))["plan"]


def live_fixed_charges(runtime: Any) -> list[tuple[str, int]]:
    """``(add-on code, live fixed charges on it)``, every plan included."""
    return [
        (code, int(n))
        for code, n in rows(
            runtime,
            "SELECT a.code, COUNT(f.id) FROM add_ons a LEFT JOIN fixed_charges f"
            " ON f.add_on_id = a.id AND f.deleted_at IS NULL GROUP BY a.id, a.code ORDER BY a.code",
        )
    ]


def test_deleting_an_add_on_deletes_its_fixed_charges(api: Any, runtime: Any) -> None:
    vat = create_tax(api, "vat", "20")
    setup = create_add_on(api, "setup", tax_codes=["vat"])
    create_add_on(api, "support")
    create_plan(api)
    create_customer(api, "cus_1")
    subscribed(api, "sub_1", plan_overrides={"amount_cents": 5})  # a child plan copies them
    assert live_fixed_charges(runtime) == [("setup", 2), ("support", 2)]

    r = api.delete("/add_ons/setup")
    assert r.json() == {"add_on": setup}
    assert setup["taxes"] == [embedded_tax(vat)]
    assert live_fixed_charges(runtime) == [("setup", 0), ("support", 2)]
    assert [f["add_on_code"] for f in ok(api.get("/plans/pro"))["plan"]["fixed_charges"]] == ["support"]
    assert api.get("/add_ons/setup").json() == error(404, "add_on_not_found")
    # The code is free again; the new add-on has no fixed charge.
    create_add_on(api, "setup")
    assert live_fixed_charges(runtime) == [("setup", 0), ("setup", 0), ("support", 2)]


def test_deleting_an_unknown_add_on_changes_nothing(api: Any, runtime: Any) -> None:
    create_add_on(api, "setup")
    create_add_on(api, "support")
    create_plan(api)
    before = counts(runtime)
    assert api.delete("/add_ons/nope").json() == error(404, "add_on_not_found")
    assert counts(runtime) == before
    assert live_fixed_charges(runtime) == [("setup", 1), ("support", 1)]
