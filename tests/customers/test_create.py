"""POST /customers creating a customer: exact payload, defaults, numbering, webhook."""

from __future__ import annotations

import uuid

from tests.customers.helpers import add_endpoint, bare_customer, counts, slug, webhook_bodies, webhook_object

FULL_INPUT = {
    "external_id": "cus_1",
    "name": "Gavin Belson",
    "firstname": "Gavin",
    "lastname": "Belson",
    "customer_type": "company",
    "account_type": "partner",
    "legal_name": "Hooli",
    "legal_number": "49-008-2965",
    "tax_identification_number": "EU123456789",
    "email": "gavin@hooli.test, billing@hooli.test",
    "phone": "1-171-883-3711 x245",
    "url": "http://hooli.test",
    "logo_url": "http://hooli.test/logo.png",
    "address_line1": "5230 Penfield Ave",
    "address_line2": "",
    "city": "Woodland Hills",
    "state": "CA",
    "zipcode": 91364,
    "country": "us",
    "currency": "EUR",
    "timezone": "Europe/Paris",
    "net_payment_term": 30,
    "finalize_zero_amount_invoice": "skip",
    "skip_invoice_custom_sections": True,
    "external_salesforce_id": "sf_1",
    "billing_configuration": {
        "invoice_grace_period": 3,
        "document_locale": "fr",
        "subscription_invoice_issuing_date_anchor": "current_period_end",
        "subscription_invoice_issuing_date_adjustment": "keep_anchor",
        "payment_provider": "stripe",
        "payment_provider_code": "stripe-eu",
    },
    "shipping_address": {
        "address_line1": "1 Rue de Rivoli",
        "address_line2": None,
        "city": "Paris",
        "zipcode": "75001",
        "state": "IDF",
        "country": "fr",
    },
    "metadata": [
        {"key": "po", "value": "123", "display_in_invoice": True},
        {"key": "acct", "value": 42},
    ],
    "tax_codes": [],
    "integration_customers": [],
    "some_unknown_field": "ignored",
}


def test_create_full_customer_exact_json(api, org, runtime):
    r = api.post("/customers", {"customer": FULL_INPUT})
    assert r.status_code == 200, r.text
    body = r.json()["customer"]
    meta = body["metadata"]
    assert [m["key"] for m in meta] == ["acct", "po"]
    assert body == bare_customer(
        body["lago_id"],
        org,
        account_type="partner",
        name="Gavin Belson",
        firstname="Gavin",
        lastname="Belson",
        customer_type="company",
        country="US",
        address_line1="5230 Penfield Ave",
        address_line2=None,
        state="CA",
        zipcode="91364",
        email="gavin@hooli.test, billing@hooli.test",
        city="Woodland Hills",
        url="http://hooli.test",
        phone="1-171-883-3711 x245",
        logo_url="http://hooli.test/logo.png",
        legal_name="Hooli",
        legal_number="49-008-2965",
        currency="EUR",
        tax_identification_number="EU123456789",
        timezone="Europe/Paris",
        applicable_timezone="Europe/Paris",
        net_payment_term=30,
        external_salesforce_id="sf_1",
        finalize_zero_amount_invoice="skip",
        # Lago stores a payment provider at creation only with a provider customer (sync or id).
        billing_configuration={
            "invoice_grace_period": 3,
            "payment_provider": None,
            "payment_provider_code": None,
            "document_locale": "fr",
            "subscription_invoice_issuing_date_anchor": "current_period_end",
            "subscription_invoice_issuing_date_adjustment": "keep_anchor",
        },
        shipping_address={
            "address_line1": "1 Rue de Rivoli",
            "address_line2": None,
            "city": "Paris",
            "zipcode": "75001",
            "state": "IDF",
            "country": "FR",
        },
        skip_invoice_custom_sections=True,
        metadata=[
            {
                "lago_id": meta[0]["lago_id"],
                "key": "acct",
                "value": "42",
                "display_in_invoice": False,
                "created_at": "2024-01-01T00:00:00Z",
            },
            {
                "lago_id": meta[1]["lago_id"],
                "key": "po",
                "value": "123",
                "display_in_invoice": True,
                "created_at": "2024-01-01T00:00:00Z",
            },
        ],
    )
    uuid.UUID(body["lago_id"])
    assert counts(runtime) == {"customers": 1, "customer_metadata": 2, "jobs": 0, "webhooks": 0}
    assert api.get("/customers/cus_1").json()["customer"] == body


def test_create_minimal_customer_defaults(api, org):
    r = api.post("/customers", {"customer": {"external_id": "cus_1"}})
    assert r.status_code == 200, r.text
    body = r.json()["customer"]
    assert body == bare_customer(body["lago_id"], org)
    assert list(body) == list(bare_customer(body["lago_id"], org))  # Lago's key order


def test_numeric_external_id_is_a_string(api, org):
    r = api.post("/customers", {"customer": {"external_id": 1234}})
    assert r.status_code == 200, r.text
    assert r.json()["customer"]["external_id"] == "1234"
    assert api.get("/customers/1234").status_code == 200


def test_applicable_timezone_falls_back_to_billing_entity(api):
    r = api.put("/organizations", {"organization": {"timezone": "America/New_York"}})
    assert r.status_code == 200, r.text
    body = api.post("/customers", {"customer": {"external_id": "cus_1"}}).json()["customer"]
    assert (body["timezone"], body["applicable_timezone"]) == (None, "America/New_York")
    body = api.post("/customers", {"customer": {"external_id": "cus_1", "timezone": "Asia/Tokyo"}}).json()[
        "customer"
    ]
    assert (body["timezone"], body["applicable_timezone"]) == ("Asia/Tokyo", "Asia/Tokyo")


def test_sequential_ids_and_slugs_count_deleted_customers(api, org):
    first = api.post("/customers", {"customer": {"external_id": "a"}}).json()["customer"]
    assert api.delete("/customers/a").status_code == 200
    second = api.post("/customers", {"customer": {"external_id": "b"}}).json()["customer"]
    third = api.post("/customers", {"customer": {"external_id": "a"}}).json()["customer"]
    assert [c["sequential_id"] for c in (first, second, third)] == [1, 2, 3]
    assert [c["slug"] for c in (first, second, third)] == [slug(org, 1), slug(org, 2), slug(org, 3)]
    assert third["lago_id"] != first["lago_id"]


def test_sequences_are_per_organization(api, other_api):
    assert api.post("/customers", {"customer": {"external_id": "a"}}).json()["customer"]["sequential_id"] == 1
    assert api.post("/customers", {"customer": {"external_id": "b"}}).json()["customer"]["sequential_id"] == 2
    other = other_api.post("/customers", {"customer": {"external_id": "a"}}).json()["customer"]
    assert other["sequential_id"] == 1
    assert other["billing_entity_code"] == "globex"


def test_create_queues_customer_created_webhook(api, org, runtime):
    add_endpoint(api)
    before = counts(runtime)
    r = api.post("/customers", {"customer": {"external_id": "cus_1", "name": "Gavin"}})
    assert r.status_code == 200, r.text
    after = counts(runtime)
    assert after["webhooks"] - before["webhooks"] == 1
    assert after["jobs"] - before["jobs"] == 1
    [envelope] = webhook_bodies(runtime)
    assert list(envelope) == ["webhook_type", "object_type", "organization_id", "customer"]
    assert envelope == {
        "webhook_type": "customer.created",
        "object_type": "customer",
        "organization_id": str(org.id),
        "customer": webhook_object(r.json()["customer"]),
    }
    assert "taxes" not in envelope["customer"]
    assert envelope["customer"]["integration_customers"] == []


def test_integration_customers_and_empty_tax_codes_are_accepted(api):
    r = api.post(
        "/customers",
        {
            "customer": {
                "external_id": "cus_1",
                "tax_codes": [],
                "integration_customers": [{"integration_type": "netsuite", "integration_code": "ns"}],
            }
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["customer"]["integration_customers"] == []
    assert r.json()["customer"]["taxes"] == []


def test_billing_entity_code_selects_entity(api):
    r = api.post("/customers", {"customer": {"external_id": "cus_1", "billing_entity_code": "acme"}})
    assert r.status_code == 200, r.text
    assert r.json()["customer"]["billing_entity_code"] == "acme"


def test_email_is_sanitized(api):
    r = api.post(
        "/customers", {"customer": {"external_id": "c", "email": " gavin\u200b@hooli\u2013mail.test "}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["customer"]["email"] == "gavin@hooli-mail.test"
