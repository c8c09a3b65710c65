"""Add-ons, taxes and coupons through ``lago_python_client`` over real HTTP: create, find,
find_all, update, destroy; raw bodies validate against Lago's OpenAPI document."""

from __future__ import annotations

import uuid

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models import AddOn, Coupon, Plan, Tax
from lago_python_client.models.coupon import LimitationConfiguration

from tests.support.openapi import assert_response_matches_openapi


def _code(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _not_found(excinfo: pytest.ExceptionInfo[LagoApiError], code: str) -> None:
    assert excinfo.value.status_code == 404
    assert excinfo.value.response == {"status": 404, "error": "Not Found", "code": code}


def test_taxes_round_trip(client: Client, http: httpx.Client) -> None:
    code = _code("vat")
    created = client.taxes.create(Tax(name="VAT", code=code, rate=20.5, description="Value added tax"))
    assert created is not None
    assert (created.name, created.code, created.rate, created.description) == (
        "VAT",
        code,
        20.5,
        "Value added tax",
    )
    assert created.applied_to_organization is False
    assert client.taxes.find(code) == created
    raw = http.get(f"/taxes/{code}")
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/taxes/{code}")
    assert raw.json()["tax"]["rate"] == 20.5

    listed = client.taxes.find_all({"per_page": 100})
    assert code in [t.code for t in listed["taxes"]]
    assert_response_matches_openapi(http.get("/taxes"), "/taxes")

    updated = client.taxes.update(Tax(name="Reduced VAT", rate=5.5), code)
    assert updated is not None
    assert (updated.lago_id, updated.name, updated.rate, updated.code) == (
        created.lago_id,
        "Reduced VAT",
        5.5,
        code,
    )
    assert updated.created_at == created.created_at
    assert client.taxes.find(code) == updated

    deleted = client.taxes.destroy(code)
    assert deleted.lago_id == created.lago_id
    with pytest.raises(LagoApiError) as excinfo:
        client.taxes.find(code)
    _not_found(excinfo, "tax_not_found")

    with pytest.raises(LagoApiError) as invalid:
        client.taxes.create(Tax(name="No rate", code=_code("bad")))
    assert invalid.value.status_code == 422
    assert invalid.value.response["error_details"] == {"rate": ["value_is_mandatory"]}


def test_add_ons_round_trip(client: Client, http: httpx.Client) -> None:
    tax = client.taxes.create(Tax(name="GST", code=_code("gst"), rate=10.0))
    assert tax is not None
    code = _code("setup")
    created = client.add_ons.create(
        AddOn(
            name="Setup fee",
            invoice_display_name="Onboarding",
            code=code,
            amount_cents=50000,
            amount_currency="EUR",
            description="One-off setup",
            tax_codes=[tax.code],
        )
    )
    assert created is not None
    assert (created.name, created.invoice_display_name, created.code) == ("Setup fee", "Onboarding", code)
    assert (created.amount_cents, created.amount_currency, created.description) == (
        50000,
        "EUR",
        "One-off setup",
    )
    assert [t.code for t in created.taxes.__root__] == [tax.code]
    assert client.add_ons.find(code) == created
    raw = http.get(f"/add_ons/{code}")
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/add_ons/{code}")

    listed = client.add_ons.find_all({"per_page": 100})
    assert code in [a.code for a in listed["add_ons"]]
    assert_response_matches_openapi(http.get("/add_ons"), "/add_ons")

    updated = client.add_ons.update(AddOn(name="Setup", amount_cents=25000, tax_codes=[]), code)
    assert updated is not None
    assert (updated.lago_id, updated.name, updated.amount_cents) == (created.lago_id, "Setup", 25000)
    assert updated.taxes.__root__ == []
    assert client.add_ons.find(code) == updated

    deleted = client.add_ons.destroy(code)
    assert deleted.lago_id == created.lago_id
    with pytest.raises(LagoApiError) as excinfo:
        client.add_ons.find(code)
    _not_found(excinfo, "add_on_not_found")


def test_coupons_round_trip(client: Client, http: httpx.Client) -> None:
    plan_code = _code("plan")
    client.plans.create(
        Plan(
            name="Basic",
            code=plan_code,
            interval="monthly",
            amount_cents=1000,
            amount_currency="EUR",
            pay_in_advance=False,
        )
    )
    fixed_code = _code("welcome")
    fixed = client.coupons.create(
        Coupon(
            name="Welcome",
            code=fixed_code,
            description="10 EUR off, three times",
            coupon_type="fixed_amount",
            amount_cents=1000,
            amount_currency="EUR",
            reusable=False,
            frequency="recurring",
            frequency_duration=3,
            expiration="no_expiration",
            applies_to=LimitationConfiguration(plan_codes=[plan_code]),
        )
    )
    assert fixed is not None
    assert (fixed.code, fixed.coupon_type, fixed.amount_cents, fixed.amount_currency) == (
        fixed_code,
        "fixed_amount",
        1000,
        "EUR",
    )
    assert (fixed.frequency, fixed.frequency_duration, fixed.reusable, fixed.expiration) == (
        "recurring",
        3,
        False,
        "no_expiration",
    )
    assert (fixed.plan_codes, fixed.limited_plans, fixed.limited_billable_metrics) == (
        [plan_code],
        True,
        False,
    )
    assert fixed.terminated_at is None
    assert client.coupons.find(fixed_code) == fixed
    raw = http.get(f"/coupons/{fixed_code}")
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/coupons/{code}")

    percent_code = _code("half")
    percent = client.coupons.create(
        Coupon(
            name="Half",
            code=percent_code,
            coupon_type="percentage",
            percentage_rate=50.0,
            frequency="once",
            expiration="time_limit",
            expiration_at="2030-12-31T23:59:59Z",
        )
    )
    assert percent is not None
    assert (percent.coupon_type, percent.percentage_rate, percent.amount_cents) == ("percentage", 50.0, None)
    assert (percent.expiration, percent.expiration_at) == ("time_limit", "2030-12-31T23:59:59Z")
    assert client.coupons.find(percent_code) == percent

    listed = client.coupons.find_all({"per_page": 100})
    assert {fixed_code, percent_code} <= {c.code for c in listed["coupons"]}
    assert_response_matches_openapi(http.get("/coupons"), "/coupons")

    updated = client.coupons.update(Coupon(name="Welcome back", amount_cents=1500), fixed_code)
    assert updated is not None
    assert (updated.lago_id, updated.name, updated.amount_cents) == (fixed.lago_id, "Welcome back", 1500)
    assert client.coupons.find(fixed_code) == updated

    deleted = client.coupons.destroy(fixed_code)
    assert deleted.lago_id == fixed.lago_id
    with pytest.raises(LagoApiError) as excinfo:
        client.coupons.find(fixed_code)
    _not_found(excinfo, "coupon_not_found")
