"""Plans through ``lago_python_client`` over real HTTP: one charge of every model, filters, a
pricing unit (a Billow extension, created with plain HTTP: the client has no resource for it), a
fixed charge, a minimum commitment and two usage thresholds; read back, update, delete; every
``plan.*`` webhook arrives once, JWT-signed, and matches Lago's webhook schema."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models import (
    AddOn,
    BillableMetric,
    BillableMetricFilter,
    BillableMetricFilters,
    Charge,
    ChargeFilter,
    ChargeFilters,
    Charges,
    FixedCharge,
    FixedCharges,
    MinimumCommitment,
    Plan,
    Tax,
    UsageThreshold,
    UsageThresholds,
    WebhookEndpoint,
)
from lago_python_client.models.charge import AppliedPricingUnit
from lago_python_client.models.fixed_charge import FixedChargeProperties

from tests.support.live_server import LiveServer
from tests.support.openapi import assert_matches_webhook, assert_response_matches_openapi
from tests.support.webhook_receiver import ReceivedWebhook, WebhookReceiver, verify_jwt

PATH = "/plan-hooks"


def _code(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def catalog(client: Client, http: httpx.Client, receiver: WebhookReceiver) -> dict[str, Any]:
    """Metrics, a tax, an add-on, a pricing unit and a JWT webhook endpoint for this module."""
    endpoint = client.webhook_endpoints.create(
        WebhookEndpoint(webhook_url=receiver.url(PATH), signature_algo="jwt", name="plans")
    )
    assert endpoint is not None
    region = BillableMetricFilters(__root__=[BillableMetricFilter(key="region", values=["eu", "us"])])
    metrics = {
        "calls": client.billable_metrics.create(
            BillableMetric(name="Calls", code=_code("calls"), aggregation_type="count_agg")
        ),
        "storage": client.billable_metrics.create(
            BillableMetric(
                name="Storage",
                code=_code("storage"),
                aggregation_type="sum_agg",
                field_name="gb",
                filters=region,
            )
        ),
        "amount": client.billable_metrics.create(
            BillableMetric(
                name="Amount", code=_code("amount"), aggregation_type="sum_agg", field_name="amount"
            )
        ),
    }
    tax = client.taxes.create(Tax(name="VAT", code=_code("vat"), rate=20.0))
    add_on = client.add_ons.create(
        AddOn(name="Seat", code=_code("seat"), amount_cents=1000, amount_currency="EUR")
    )
    unit_code = _code("credits")
    r = http.post(
        "/pricing_units", json={"pricing_unit": {"name": "Credits", "code": unit_code, "short_name": "CR"}}
    )
    assert r.status_code == 200, r.text
    assert tax is not None and add_on is not None
    return {"metrics": metrics, "tax": tax, "add_on": add_on, "unit": unit_code}


def _charges(catalog: dict[str, Any]) -> Charges:
    m = catalog["metrics"]
    calls, storage, amount = m["calls"].lago_id, m["storage"].lago_id, m["amount"].lago_id
    return Charges(
        __root__=[
            Charge(
                billable_metric_id=storage,
                charge_model="standard",
                invoice_display_name="Storage",
                properties={"amount": "0.12"},
                filters=ChargeFilters(
                    __root__=[
                        ChargeFilter(
                            invoice_display_name="EU storage",
                            properties={"amount": "0.10"},
                            values={"region": ["eu"]},
                        ),
                        ChargeFilter(properties={"amount": "0.08"}, values={"region": ["us"]}),
                    ]
                ),
                tax_codes=[catalog["tax"].code],
            ),
            Charge(
                billable_metric_id=calls,
                charge_model="graduated",
                properties={
                    "graduated_ranges": [
                        {"from_value": 0, "to_value": 5, "per_unit_amount": "10", "flat_amount": "100"},
                        {"from_value": 6, "to_value": None, "per_unit_amount": "5", "flat_amount": "50"},
                    ]
                },
            ),
            Charge(
                billable_metric_id=amount,
                charge_model="graduated_percentage",
                properties={
                    "graduated_percentage_ranges": [
                        {"from_value": 0, "to_value": 100, "rate": "5", "flat_amount": "0"},
                        {"from_value": 101, "to_value": None, "rate": "2", "flat_amount": "10"},
                    ]
                },
            ),
            Charge(
                billable_metric_id=calls,
                charge_model="package",
                properties={"amount": "100", "package_size": 10, "free_units": 5},
                applied_pricing_unit=AppliedPricingUnit(code=catalog["unit"], conversion_rate=0.5),
            ),
            Charge(
                billable_metric_id=amount,
                charge_model="percentage",
                properties={"rate": "1", "fixed_amount": "5", "free_units_per_events": 3},
            ),
            Charge(
                billable_metric_id=calls,
                charge_model="volume",
                properties={
                    "volume_ranges": [
                        {"from_value": 0, "to_value": 10, "per_unit_amount": "5", "flat_amount": "100"},
                        {"from_value": 11, "to_value": None, "per_unit_amount": "2", "flat_amount": "50"},
                    ]
                },
            ),
            Charge(billable_metric_id=amount, charge_model="dynamic", properties={}),
        ]
    )


def _plan(code: str, catalog: dict[str, Any]) -> Plan:
    return Plan(
        name="Scale",
        invoice_display_name="Scale plan",
        code=code,
        interval="monthly",
        description="Every charge model",
        amount_cents=10000,
        amount_currency="EUR",
        trial_period=0.0,
        pay_in_advance=False,
        charges=_charges(catalog),
        fixed_charges=FixedCharges(
            __root__=[
                FixedCharge(
                    add_on_code=catalog["add_on"].code,
                    charge_model="standard",
                    units=3,
                    properties=FixedChargeProperties(amount="10"),
                )
            ]
        ),
        minimum_commitment=MinimumCommitment(amount_cents=50000, invoice_display_name="Commitment"),
        usage_thresholds=UsageThresholds(
            __root__=[
                UsageThreshold(threshold_display_name="First", amount_cents=20000, recurring=False),
                UsageThreshold(threshold_display_name="Every", amount_cents=5000, recurring=True),
            ]
        ),
        tax_codes=[catalog["tax"].code],
    )


def _hook_of(code: str) -> Any:
    def match(hook: ReceivedWebhook) -> bool:
        return bool((json.loads(hook.body).get("plan") or {}).get("code") == code)

    return match


def _check_hook(hook: ReceivedWebhook, webhook_type: str, server: LiveServer, key: bytes) -> dict[str, Any]:
    claims = verify_jwt(hook.headers, hook.body, key, server.issuer)
    assert claims == {"data": hook.body.decode("utf-8"), "iss": server.issuer}
    envelope: dict[str, Any] = json.loads(hook.body)
    assert list(envelope) == ["webhook_type", "object_type", "organization_id", "plan"]
    assert (envelope["webhook_type"], envelope["object_type"]) == (webhook_type, "plan")
    assert_matches_webhook(webhook_type, envelope)
    plan: dict[str, Any] = envelope["plan"]
    return plan


def test_plan_round_trip(
    client: Client,
    http: httpx.Client,
    server: LiveServer,
    receiver: WebhookReceiver,
    catalog: dict[str, Any],
) -> None:
    code = _code("scale")
    created = client.plans.create(_plan(code, catalog))
    assert created is not None
    assert (created.name, created.code, created.interval, created.amount_cents) == (
        "Scale",
        code,
        "monthly",
        10000,
    )
    assert created.invoice_display_name == "Scale plan"
    assert [t.code for t in created.taxes.__root__] == [catalog["tax"].code]

    charges = created.charges.__root__
    assert [c.charge_model for c in charges] == [
        "standard",
        "graduated",
        "graduated_percentage",
        "package",
        "percentage",
        "volume",
        "dynamic",
    ]
    storage = charges[0]
    assert storage.properties == {"amount": "0.12"}
    assert [t.code for t in storage.taxes.__root__] == [catalog["tax"].code]
    assert [(f.invoice_display_name, f.properties, f.values) for f in storage.filters.__root__] == [
        ("EU storage", {"amount": "0.10"}, {"region": ["eu"]}),
        (None, {"amount": "0.08"}, {"region": ["us"]}),
    ]
    assert charges[1].properties == {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 5, "per_unit_amount": "10", "flat_amount": "100"},
            {"from_value": 6, "to_value": None, "per_unit_amount": "5", "flat_amount": "50"},
        ]
    }
    assert charges[3].properties == {"amount": "100", "package_size": 10, "free_units": 5}
    assert charges[4].properties == {"rate": "1", "fixed_amount": "5", "free_units_per_events": 3}
    assert charges[6].properties == {}
    assert all(c.billable_metric_code for c in charges)

    [fixed] = created.fixed_charges.__root__
    assert (fixed.add_on_code, fixed.charge_model, fixed.units) == (catalog["add_on"].code, "standard", 3.0)
    assert fixed.properties is not None and fixed.properties.amount == "10"
    commitment = created.minimum_commitment
    assert commitment is not None
    assert (commitment.amount_cents, commitment.invoice_display_name, commitment.interval) == (
        50000,
        "Commitment",
        "monthly",
    )
    thresholds = sorted(created.usage_thresholds.__root__, key=lambda t: t.amount_cents)
    assert [(t.threshold_display_name, t.amount_cents, t.recurring) for t in thresholds] == [
        ("Every", 5000, True),
        ("First", 20000, False),
    ]

    # Read back identical, through the client and raw (the raw body validates against OpenAPI and
    # carries the pricing unit, which the client's response model does not declare).
    assert client.plans.find(code) == created
    raw = http.get(f"/plans/{code}")
    assert raw.status_code == 200, raw.text
    assert_response_matches_openapi(raw, "/plans/{code}")
    body = raw.json()["plan"]
    assert body["charges"][3]["applied_pricing_unit"] == {"conversion_rate": "0.5", "code": catalog["unit"]}
    assert [c["applied_pricing_unit"] for i, c in enumerate(body["charges"]) if i != 3] == [None] * 6
    listed = http.get("/plans", params={"per_page": 100})
    assert listed.status_code == 200
    assert_response_matches_openapi(listed, "/plans")
    assert code in [p.code for p in client.plans.find_all({"per_page": 100})["plans"]]

    # Update: a new name and price, one charge fewer, a different threshold.
    kept = _charges(catalog).__root__[:-1]
    for charge, existing in zip(kept, charges, strict=False):
        charge.id = existing.lago_id
    updated = client.plans.update(
        Plan(
            name="Scale v2",
            amount_cents=12000,
            charges=Charges(__root__=kept),
            usage_thresholds=UsageThresholds(
                __root__=[UsageThreshold(threshold_display_name="Only", amount_cents=30000, recurring=False)]
            ),
        ),
        code,
    )
    assert updated is not None
    assert (updated.lago_id, updated.name, updated.amount_cents) == (created.lago_id, "Scale v2", 12000)
    assert [c.lago_id for c in updated.charges.__root__] == [c.lago_id for c in charges[:-1]]
    assert [(t.threshold_display_name, t.amount_cents) for t in updated.usage_thresholds.__root__] == [
        ("Only", 30000)
    ]
    assert updated.fixed_charges == created.fixed_charges
    assert client.plans.find(code) == updated
    put_raw = http.get(f"/plans/{code}")
    assert_response_matches_openapi(put_raw, "/plans/{code}")

    # Delete.
    deleted = client.plans.destroy(code)
    assert deleted is not None and deleted.lago_id == created.lago_id

    public_key = client.webhooks.public_key()
    match = _hook_of(code)
    [hook_created] = receiver.wait_exactly("plan.created", 1, path=PATH, match=match)
    [hook_updated] = receiver.wait_exactly("plan.updated", 1, path=PATH, match=match)
    [hook_deleted] = receiver.wait_exactly("plan.deleted", 1, path=PATH, match=match)
    on_create = _check_hook(hook_created, "plan.created", server, public_key)
    assert (on_create["lago_id"], on_create["name"], len(on_create["charges"])) == (
        created.lago_id,
        "Scale",
        7,
    )
    on_update = _check_hook(hook_updated, "plan.updated", server, public_key)
    assert (on_update["name"], on_update["amount_cents"], len(on_update["charges"])) == ("Scale v2", 12000, 6)
    on_delete = _check_hook(hook_deleted, "plan.deleted", server, public_key)
    assert on_delete["lago_id"] == created.lago_id
    assert len({h.headers["x-lago-unique-key"] for h in (hook_created, hook_updated, hook_deleted)}) == 3


def test_deleted_plan_is_gone(client: Client, http: httpx.Client, catalog: dict[str, Any]) -> None:
    code = _code("gone")
    client.plans.create(
        Plan(
            name="Gone",
            code=code,
            interval="monthly",
            amount_cents=0,
            amount_currency="EUR",
            pay_in_advance=False,
        )
    )
    pending = client.plans.destroy(code)
    assert pending is not None and pending.code == code
    # DELETE marks the plan pending_deletion; the worker's plans.delete_cascade job removes it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.plans.find(code)
        except LagoApiError:
            break
        time.sleep(0.1)
    with pytest.raises(LagoApiError) as excinfo:
        client.plans.destroy(code)
    assert excinfo.value.status_code == 404
    assert excinfo.value.response == {"status": 404, "error": "Not Found", "code": "plan_not_found"}
    missing = http.get("/plans/does-not-exist")
    assert missing.status_code == 404
    assert_response_matches_openapi(missing, "/plans/{code}")
