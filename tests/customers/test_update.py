"""POST /customers on an existing external_id: partial update, metadata upsert, webhook."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.customers.helpers import add_endpoint, bare_customer, counts, webhook_bodies, webhook_object


def _post(api, **fields):
    r = api.post("/customers", {"customer": fields})
    assert r.status_code == 200, r.text
    return r.json()["customer"]


def test_update_changes_only_sent_fields(api, org, runtime):
    created = _post(
        api,
        external_id="cus_1",
        name="Gavin",
        email="g@hooli.test",
        city="Palo Alto",
        currency="USD",
        phone="1",
    )
    runtime.clock.set(datetime(2024, 2, 1, 12, 30, tzinfo=UTC))
    updated = _post(
        api, external_id="cus_1", name="Gavin Belson", phone=None, shipping_address={"city": "Paris"}
    )
    assert updated == bare_customer(
        created["lago_id"],
        org,
        name="Gavin Belson",
        email="g@hooli.test",
        city="Palo Alto",
        currency="USD",
        phone=None,
        updated_at="2024-02-01T12:30:00Z",
        shipping_address={
            "address_line1": None,
            "address_line2": None,
            "city": "Paris",
            "zipcode": None,
            "state": None,
            "country": None,
        },
    )
    assert counts(runtime)["customers"] == 1


def test_update_without_changes_keeps_updated_at(api, runtime):
    _post(api, external_id="cus_1", name="Gavin")
    runtime.clock.set(datetime(2024, 3, 1, tzinfo=UTC))
    again = _post(api, external_id="cus_1", name="Gavin")
    assert again["updated_at"] == "2024-01-01T00:00:00Z"


def test_upsert_update_queues_customer_updated_webhook_with_exact_payload(api, org, runtime):
    created = _post(api, external_id="cus_1", name="Gavin", metadata=[{"key": "po", "value": "1"}])
    add_endpoint(api)
    runtime.clock.set(datetime(2024, 1, 15, 8, 0, tzinfo=UTC))
    before = counts(runtime)
    r = api.post(
        "/customers",
        {
            "customer": {
                "external_id": "cus_1",
                "legal_name": "Hooli Inc.",
                "billing_configuration": {"payment_provider": "stripe", "payment_provider_code": "stripe-eu"},
            }
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()["customer"]
    meta_id = created["metadata"][0]["lago_id"]
    expected = bare_customer(
        created["lago_id"],
        org,
        name="Gavin",
        legal_name="Hooli Inc.",
        updated_at="2024-01-15T08:00:00Z",
        billing_configuration={
            "invoice_grace_period": None,
            "payment_provider": "stripe",
            "payment_provider_code": "stripe-eu",
            "document_locale": None,
            "subscription_invoice_issuing_date_anchor": None,
            "subscription_invoice_issuing_date_adjustment": None,
            "provider_customer_id": None,
            "provider_payment_methods": None,
        },
        metadata=[
            {
                "lago_id": meta_id,
                "key": "po",
                "value": "1",
                "display_in_invoice": False,
                "created_at": "2024-01-01T00:00:00Z",
            }
        ],
    )
    assert body == expected
    after = counts(runtime)
    assert (after["webhooks"] - before["webhooks"], after["jobs"] - before["jobs"]) == (1, 1)
    [envelope] = webhook_bodies(runtime)
    assert list(envelope) == ["webhook_type", "object_type", "organization_id", "customer"]
    assert envelope == {
        "webhook_type": "customer.updated",
        "object_type": "customer",
        "organization_id": str(org.id),
        "customer": webhook_object(expected),
    }


def test_metadata_upsert_updates_creates_and_removes(api, runtime):
    created = _post(
        api,
        external_id="cus_1",
        metadata=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}, {"key": "c", "value": "3"}],
    )
    ids = {m["key"]: m["lago_id"] for m in created["metadata"]}
    runtime.clock.set(datetime(2024, 1, 2, tzinfo=UTC))
    updated = _post(
        api,
        external_id="cus_1",
        metadata=[
            {"id": ids["a"], "key": "a", "value": "10", "display_in_invoice": True},
            {"id": ids["b"], "value": "20"},
            {"key": "d", "value": "4"},
        ],
    )
    assert updated["metadata"] == [
        {"lago_id": ids["a"], "key": "a", "value": "10", "display_in_invoice": True,
         "created_at": "2024-01-01T00:00:00Z"},
        {"lago_id": ids["b"], "key": "b", "value": "20", "display_in_invoice": False,
         "created_at": "2024-01-01T00:00:00Z"},
        {"lago_id": updated["metadata"][2]["lago_id"], "key": "d", "value": "4", "display_in_invoice": False,
         "created_at": "2024-01-02T00:00:00Z"},
    ]  # fmt: skip
    assert updated["metadata"][2]["lago_id"] not in ids.values()
    assert counts(runtime)["customer_metadata"] == 3


def test_metadata_keys_can_be_swapped(api):
    created = _post(api, external_id="c", metadata=[{"key": "x", "value": "1"}, {"key": "y", "value": "2"}])
    ids = {m["key"]: m["lago_id"] for m in created["metadata"]}
    updated = _post(
        api,
        external_id="c",
        metadata=[{"id": ids["x"], "key": "y", "value": "1"}, {"id": ids["y"], "key": "x", "value": "2"}],
    )
    assert {(m["lago_id"], m["key"], m["value"]) for m in updated["metadata"]} == {
        (ids["x"], "y", "1"),
        (ids["y"], "x", "2"),
    }


def test_metadata_absent_keeps_and_empty_list_clears(api, runtime):
    _post(api, external_id="c", metadata=[{"key": "x", "value": "1"}])
    assert len(_post(api, external_id="c", name="n")["metadata"]) == 1
    assert len(_post(api, external_id="c", metadata=None)["metadata"]) == 1
    assert _post(api, external_id="c", metadata=[])["metadata"] == []
    assert counts(runtime)["customer_metadata"] == 0


def test_billing_configuration_fields_update_partially(api):
    _post(api, external_id="c", billing_configuration={"invoice_grace_period": 2, "document_locale": "de"})
    body = _post(api, external_id="c", billing_configuration={"invoice_grace_period": 5})
    assert body["billing_configuration"]["invoice_grace_period"] == 5
    assert body["billing_configuration"]["document_locale"] == "de"
    body = _post(api, external_id="c", billing_configuration={"payment_provider": "unknown"})
    assert body["billing_configuration"]["payment_provider"] is None


def test_finalize_zero_amount_invoice_null_resets_to_inherit(api):
    assert _post(api, external_id="c", finalize_zero_amount_invoice="finalize")[
        "finalize_zero_amount_invoice"
    ] == ("finalize")
    assert (
        _post(api, external_id="c", finalize_zero_amount_invoice=None)["finalize_zero_amount_invoice"]
        == "inherit"
    )


def test_invoice_custom_section_codes_clear_skip_flag(api):
    assert (
        _post(api, external_id="c", skip_invoice_custom_sections=True)["skip_invoice_custom_sections"] is True
    )
    body = _post(api, external_id="c", invoice_custom_section_codes=["eu_bank"])
    assert body["skip_invoice_custom_sections"] is False


def test_currency_can_change_while_customer_has_nothing_billed(api):
    _post(api, external_id="c", currency="USD")
    assert _post(api, external_id="c", currency="EUR")["currency"] == "EUR"
