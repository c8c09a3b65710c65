"""/taxes: exact payloads, Lago's rules and codes, organization taxes, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from billow.core.errors import NotFound
from billow.db.context import Ctx
from billow.pricing.taxes.models import Tax
from billow.pricing.taxes.service import organization_taxes, resolve_tax_codes
from tests.pricing.helpers import counts, create_tax, error, ok, validation

EMPTY = {
    "taxes": 0,
    "billing_entity_taxes": 0,
    "add_ons": 0,
    "add_on_taxes": 0,
    "coupons": 0,
    "coupon_targets": 0,
    "applied_coupons": 0,
    "jobs": 0,
    "webhooks": 0,
}


def tax_json(lago_id: str, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "lago_id": lago_id,
        "name": "French VAT",
        "code": "fr_vat",
        "rate": 20.0,
        "description": "Standard rate",
        "applied_to_organization": False,
        "add_ons_count": 0,
        "customers_count": 0,
        "plans_count": 0,
        "charges_count": 0,
        "commitments_count": 0,
        "created_at": "2024-01-01T00:00:00Z",
        "applied_to_billing_entities_codes": [],
    }
    payload.update(overrides)
    return payload


FR_VAT = {"name": "French VAT", "code": "fr_vat", "rate": "20.0", "description": "Standard rate"}


def test_create_returns_the_tax(api: Any, runtime: Any) -> None:
    r = api.post("/taxes", {"tax": FR_VAT})
    body = ok(r)
    assert body == {"tax": tax_json(body["tax"]["lago_id"])}
    assert counts(runtime)["taxes"] == 1
    assert counts(runtime)["billing_entity_taxes"] == 0


def test_rate_is_a_json_number_and_stored_exactly(api: Any, runtime: Any) -> None:
    assert create_tax(api, "a", "5.5")["rate"] == 5.5
    assert create_tax(api, "b", 8)["rate"] == 8.0
    assert create_tax(api, "c", "0")["rate"] == 0.0
    create_tax(api, "d", "12.345678901234567890")
    assert '"rate":12.345678901234567' in api.get("/taxes/d").text
    with runtime.db.session() as session:
        stored = session.scalar(select(Tax.rate).where(Tax.code == "d"))
    assert stored == Decimal("12.345678901234567890")


def test_applied_to_organization_applies_it_to_the_default_billing_entity(api: Any) -> None:
    created = ok(api.post("/taxes", {"tax": {**FR_VAT, "applied_to_organization": True}}))["tax"]
    assert created == tax_json(
        created["lago_id"], applied_to_organization=True, applied_to_billing_entities_codes=["acme"]
    )
    org = ok(api.get("/organizations"))["organization"]
    embedded = tax_json(created["lago_id"], applied_to_organization=True)
    del embedded["applied_to_billing_entities_codes"]
    assert org["taxes"] == [embedded]


def test_get_and_list(api: Any, runtime: Any) -> None:
    vat = create_tax(api, "vat", "20", name="VAT")
    runtime.clock.set(datetime(2024, 1, 2, tzinfo=UTC))
    gst = create_tax(api, "gst", "5", name="GST", description="Goods")
    assert ok(api.get("/taxes/vat")) == {
        "tax": tax_json(vat["lago_id"], name="VAT", code="vat", description=None)
    }
    listed = ok(api.get("/taxes"))
    assert listed == {
        "taxes": [
            tax_json(
                gst["lago_id"],
                name="GST",
                code="gst",
                rate=5.0,
                description="Goods",
                created_at="2024-01-02T00:00:00Z",
            ),
            tax_json(vat["lago_id"], name="VAT", code="vat", description=None),
        ],
        "meta": {"current_page": 1, "next_page": None, "prev_page": None, "total_pages": 1, "total_count": 2},
    }
    page = ok(api.get("/taxes", page=2, per_page=1))
    assert [t["code"] for t in page["taxes"]] == ["vat"]
    assert page["meta"] == {
        "current_page": 2,
        "next_page": None,
        "prev_page": 1,
        "total_pages": 2,
        "total_count": 2,
    }


def test_empty_list(api: Any) -> None:
    assert ok(api.get("/taxes")) == {
        "taxes": [],
        "meta": {"current_page": 0, "next_page": None, "prev_page": None, "total_pages": 0, "total_count": 0},
    }


def test_update_changes_only_sent_fields(api: Any, runtime: Any) -> None:
    created = ok(api.post("/taxes", {"tax": FR_VAT}))["tax"]
    runtime.clock.set(datetime(2024, 1, 5, tzinfo=UTC))
    r = api.put("/taxes/fr_vat", {"tax": {"code": "fr_vat_2", "rate": 5.5, "applied_to_organization": True}})
    assert ok(r) == {
        "tax": tax_json(
            created["lago_id"],
            code="fr_vat_2",
            rate=5.5,
            applied_to_organization=True,
            applied_to_billing_entities_codes=["acme"],
        )
    }
    assert api.get("/taxes/fr_vat").status_code == 404
    r = api.put("/taxes/fr_vat_2", {"tax": {"applied_to_organization": False, "description": None}})
    assert ok(r)["tax"] == tax_json(created["lago_id"], code="fr_vat_2", rate=5.5, description=None)
    assert ok(api.get("/organizations"))["organization"]["taxes"] == []
    assert counts(runtime)["billing_entity_taxes"] == 0


def test_delete_soft_deletes_and_answers_the_tax_as_it_was(api: Any, runtime: Any) -> None:
    created = ok(api.post("/taxes", {"tax": {**FR_VAT, "applied_to_organization": True}}))["tax"]
    r = api.delete("/taxes/fr_vat")
    assert ok(r) == {"tax": created}
    assert api.get("/taxes/fr_vat").json() == error(404, "tax_not_found")
    assert api.delete("/taxes/fr_vat").json() == error(404, "tax_not_found")
    assert ok(api.get("/taxes"))["taxes"] == []
    assert ok(api.get("/organizations"))["organization"]["taxes"] == []
    assert counts(runtime)["taxes"] == 1
    assert counts(runtime)["billing_entity_taxes"] == 0


def test_a_deleted_tax_keeps_its_code(api: Any) -> None:
    """Lago's uniqueness check on taxes ignores the soft delete."""
    create_tax(api, "vat")
    ok(api.delete("/taxes/vat"))
    r = api.post("/taxes", {"tax": {"name": "VAT", "code": "vat", "rate": "20"}})
    assert r.status_code == 422
    assert r.json() == validation({"code": ["value_already_exist"]})


@pytest.mark.parametrize(
    ("body", "details"),
    [
        (
            {"description": "x"},
            {"name": ["value_is_mandatory"], "rate": ["value_is_mandatory"], "code": ["value_is_mandatory"]},
        ),
        (
            {"name": " ", "code": "", "rate": ""},
            {"name": ["value_is_mandatory"], "rate": ["value_is_mandatory"], "code": ["value_is_mandatory"]},
        ),
        ({"name": "VAT", "code": "vat", "rate": "abc"}, {"rate": ["value_is_invalid"]}),
        ({"name": "VAT", "code": "vat", "rate": True}, {"rate": ["value_is_invalid"]}),
        ({"name": "VAT", "code": "vat", "rate": "-1"}, {"rate": ["value_is_out_of_range"]}),
        ({"name": "VAT", "code": "vat", "rate": None}, {"rate": ["value_is_mandatory"]}),
    ],
)
def test_invalid_input_stores_nothing(
    api: Any, runtime: Any, body: dict[str, Any], details: dict[str, list[str]]
) -> None:
    r = api.post("/taxes", {"tax": {**body, "applied_to_organization": True}})
    assert r.status_code == 422
    assert r.json() == validation(details)
    assert counts(runtime) == EMPTY


def test_duplicate_code_is_refused(api: Any, runtime: Any) -> None:
    create_tax(api, "vat")
    other = create_tax(api, "gst")
    r = api.post("/taxes", {"tax": {"name": "x", "code": "vat", "rate": "1"}})
    assert r.json() == validation({"code": ["value_already_exist"]})
    r = api.put("/taxes/gst", {"tax": {"code": "vat", "rate": "7"}})
    assert r.json() == validation({"code": ["value_already_exist"]})
    assert ok(api.get("/taxes/gst"))["tax"] == {**other}
    assert counts(runtime)["taxes"] == 2


def test_update_validation_stores_nothing(api: Any) -> None:
    created = create_tax(api, "vat")
    r = api.put("/taxes/vat", {"tax": {"name": "", "rate": "x", "applied_to_organization": True}})
    assert r.json() == validation({"name": ["value_is_mandatory"], "rate": ["value_is_invalid"]})
    assert ok(api.get("/taxes/vat"))["tax"] == created


def test_missing_root_and_bad_json(api: Any, runtime: Any) -> None:
    r = api.post("/taxes", {"name": "VAT"})
    assert r.status_code == 400
    assert r.json() == {
        "status": 400,
        "error": "BadRequest: param is missing or the value is empty or invalid: tax",
    }
    assert api.raw("POST", "/taxes", b"{", {"Content-Type": "application/json"}).status_code == 400
    assert api.put("/taxes/vat", {"tax": {"name": "x"}}).json() == error(404, "tax_not_found")
    assert counts(runtime) == EMPTY


def test_another_organizations_tax_is_not_found(api: Any, other_api: Any) -> None:
    create_tax(api, "vat")
    assert other_api.get("/taxes/vat").json() == error(404, "tax_not_found")
    assert other_api.put("/taxes/vat", {"tax": {"name": "x"}}).json() == error(404, "tax_not_found")
    assert other_api.delete("/taxes/vat").json() == error(404, "tax_not_found")
    assert ok(other_api.get("/taxes"))["taxes"] == []
    mine = create_tax(other_api, "vat", "7")
    assert mine["rate"] == 7.0
    assert ok(api.get("/taxes/vat"))["tax"]["rate"] == 20.0


def test_resolve_tax_codes_and_organization_taxes(api: Any, other_api: Any, ctx: Ctx) -> None:
    create_tax(api, "vat", applied_to_organization=True)
    create_tax(api, "gst")
    create_tax(other_api, "pst", applied_to_organization=True)
    assert [t.code for t in resolve_tax_codes(ctx, ["gst", "vat", "gst"])] == ["gst", "vat"]
    assert resolve_tax_codes(ctx, []) == []
    with pytest.raises(NotFound) as exc:
        resolve_tax_codes(ctx, ["vat", "pst"])
    assert exc.value.code == "tax_not_found"
    assert [t.code for t in organization_taxes(ctx)] == ["vat"]


def test_nul_bytes_in_codes_are_simply_unknown(api: Any) -> None:
    assert api.get("/taxes/a%00b").json() == error(404, "tax_not_found")
    assert api.get("/add_ons/a%00b").json() == error(404, "add_on_not_found")
    assert api.get("/coupons/a%00b").json() == error(404, "coupon_not_found")
    assert api.get("/customers/a%00b/applied_coupons").json() == error(404, "customer_not_found")
    assert ok(api.get("/applied_coupons", external_customer_id="a\x00b"))["applied_coupons"] == []
    assert ok(api.get("/applied_coupons", **{"coupon_code[]": ["a\x00b"]}))["applied_coupons"] == []
    r = api.post("/taxes", {"tax": {"name": "V\x00AT", "code": "v\x00at", "rate": "1"}})
    assert (ok(r)["tax"]["name"], ok(r)["tax"]["code"]) == ("VAT", "vat")
