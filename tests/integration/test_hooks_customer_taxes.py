"""``tax_codes`` on ``POST /customers``: resolved through the taxes service, stored, shown in the
API answers (not in the customer webhooks, as in Lago), read back by ``customer_taxes``."""

from __future__ import annotations

import uuid
from typing import Any

from billow.customers.service import customer_taxes
from billow.db.context import Ctx
from tests.integration.helpers import (
    add_endpoint,
    counts,
    create_tax,
    embedded_tax,
    error,
    ok,
    rows,
    webhooks,
)


def upsert(api: Any, external_id: str = "cus_1", **fields: Any) -> Any:
    return api.post("/customers", {"customer": {"external_id": external_id, **fields}})


def test_tax_codes_are_stored_and_shown(api: Any, runtime: Any) -> None:
    add_endpoint(api)
    vat = create_tax(api, "vat", "20", applied_to_organization=True)
    gst = create_tax(api, "gst", "5")
    expected = [embedded_tax(vat), embedded_tax(gst)]

    created = ok(upsert(api, tax_codes=["vat", "gst", "vat"]))["customer"]
    assert created["taxes"] == expected
    assert created["taxes"][0] == {
        "lago_id": vat["lago_id"],
        "name": "VAT",
        "code": "vat",
        "rate": 20.0,
        "description": None,
        "applied_to_organization": True,
        "add_ons_count": 0,
        "customers_count": 0,
        "plans_count": 0,
        "charges_count": 0,
        "commitments_count": 0,
        "created_at": "2024-01-01T00:00:00Z",
    }
    assert ok(api.get("/customers/cus_1"))["customer"]["taxes"] == expected
    ok(upsert(api, "cus_2", tax_codes=["gst"]))
    ok(upsert(api, "cus_3"))
    listed = {c["external_id"]: c["taxes"] for c in ok(api.get("/customers"))["customers"]}
    assert listed == {"cus_1": expected, "cus_2": [embedded_tax(gst)], "cus_3": []}
    links = rows(
        runtime,
        "SELECT customer_id, tax_id FROM customer_taxes WHERE customer_id = :c ORDER BY created_at, id",
        c=rows(runtime, "SELECT id FROM customers WHERE external_id = 'cus_1'")[0][0],
    )
    assert [(uuid.UUID(str(c)), uuid.UUID(str(t))) for c, t in links] == [
        (uuid.UUID(created["lago_id"]), uuid.UUID(vat["lago_id"])),
        (uuid.UUID(created["lago_id"]), uuid.UUID(gst["lago_id"])),
    ]
    # Lago's customer webhooks carry no taxes.
    hooks = webhooks(runtime, "customer.created")
    assert [h["customer"]["external_id"] for h in hooks] == ["cus_1", "cus_2", "cus_3"]
    assert all("taxes" not in h["customer"] for h in hooks)


def test_tax_codes_replace_the_list_and_an_empty_list_clears_it(api: Any, runtime: Any) -> None:
    vat, gst, reduced = (create_tax(api, c, r) for c, r in (("vat", "20"), ("gst", "5"), ("reduced", "5.5")))
    ok(upsert(api, tax_codes=["vat", "gst"]))
    replaced = ok(upsert(api, tax_codes=["reduced", "gst"]))["customer"]["taxes"]
    # A kept tax keeps its place; new ones follow in the order sent.
    assert replaced == [embedded_tax(gst), embedded_tax(reduced)]
    assert ok(upsert(api, name="No tax change"))["customer"]["taxes"] == replaced
    assert ok(upsert(api, tax_codes=None))["customer"]["taxes"] == replaced
    assert ok(upsert(api, tax_codes=[]))["customer"]["taxes"] == []
    assert counts(runtime)["customer_taxes"] == 0
    assert vat["code"] == "vat"


def test_a_deleted_tax_leaves_the_customer(api: Any, runtime: Any, ctx: Ctx) -> None:
    create_tax(api, "vat", "20")
    gst = create_tax(api, "gst", "5")
    customer = ok(upsert(api, tax_codes=["vat", "gst"]))["customer"]
    other = ok(upsert(api, "cus_2"))["customer"]
    ok(api.delete("/taxes/vat"))
    assert ok(api.get("/customers/cus_1"))["customer"]["taxes"] == [embedded_tax(gst)]
    # What invoicing reads: live taxes, in order; nothing for a customer without taxes.
    taxes = customer_taxes(ctx, uuid.UUID(customer["lago_id"]))
    assert [(str(t.id), t.code) for t in taxes] == [(gst["lago_id"], "gst")]
    assert customer_taxes(ctx, uuid.UUID(other["lago_id"])) == []


def test_unknown_tax_code_stores_nothing(api: Any, runtime: Any) -> None:
    add_endpoint(api)
    vat = create_tax(api, "vat", "20")
    ok(upsert(api, tax_codes=["vat"]))
    before = counts(runtime)

    assert upsert(api, "cus_2", tax_codes=["vat", "nope"]).json() == error(404, "tax_not_found")
    assert upsert(api, tax_codes=["nope"], name="Changed").json() == error(404, "tax_not_found")
    assert counts(runtime) == before
    customer = ok(api.get("/customers/cus_1"))["customer"]
    assert customer["name"] is None and customer["taxes"] == [embedded_tax(vat)]
    assert api.get("/customers/cus_2").json() == error(404, "customer_not_found")


def test_deleted_and_foreign_tax_codes_are_unknown(api: Any, other_api: Any, runtime: Any) -> None:
    create_tax(api, "vat", "20")
    create_tax(api, "old", "1")
    ok(api.delete("/taxes/old"))
    assert upsert(api, tax_codes=["old"]).json() == error(404, "tax_not_found")
    assert upsert(other_api, tax_codes=["vat"]).json() == error(404, "tax_not_found")
    assert counts(runtime)["customers"] == 0
