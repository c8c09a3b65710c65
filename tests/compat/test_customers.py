"""Customers through ``lago_python_client``: upsert, find, find_all, destroy, errors."""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models import (
    Address,
    Customer,
    CustomerBillingConfiguration,
    Metadata,
    MetadataList,
)

from tests.support.live_server import OrgCredentials
from tests.support.openapi import assert_response_matches_openapi

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _ext(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _is_uuid(value: Any) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value


def full_customer(external_id: str) -> Customer:
    return Customer(
        external_id=external_id,
        name="Acme Corp",
        firstname="Ada",
        lastname="Lovelace",
        customer_type="company",
        email="billing@acme.test",
        phone="+33 1 23 45 67 89",
        url="https://acme.test",
        logo_url="https://acme.test/logo.png",
        legal_name="Acme Corporation SAS",
        legal_number="123 456 789",
        tax_identification_number="FR12345678901",
        address_line1="1 rue de la Paix",
        address_line2="Bâtiment B",
        city="Paris",
        state="Île-de-France",
        zipcode="75002",
        country="FR",
        currency="EUR",
        timezone="Europe/Paris",
        net_payment_term=30,
        finalize_zero_amount_invoice="skip",
        billing_configuration=CustomerBillingConfiguration(invoice_grace_period=3, document_locale="fr"),
        shipping_address=Address(
            address_line1="2 Hafenstraße",
            address_line2=None,
            city="Hamburg",
            zipcode="20457",
            state=None,
            country="DE",
        ),
        metadata=MetadataList(
            __root__=[Metadata(key="purchase_order", value="PO-42", display_in_invoice=True)]
        ),
    )


SENT_FIELDS = {
    "name": "Acme Corp",
    "firstname": "Ada",
    "lastname": "Lovelace",
    "customer_type": "company",
    "email": "billing@acme.test",
    "phone": "+33 1 23 45 67 89",
    "url": "https://acme.test",
    "logo_url": "https://acme.test/logo.png",
    "legal_name": "Acme Corporation SAS",
    "legal_number": "123 456 789",
    "tax_identification_number": "FR12345678901",
    "address_line1": "1 rue de la Paix",
    "address_line2": "Bâtiment B",
    "city": "Paris",
    "state": "Île-de-France",
    "zipcode": "75002",
    "country": "FR",
    "currency": "EUR",
    "timezone": "Europe/Paris",
    "applicable_timezone": "Europe/Paris",
    "net_payment_term": 30,
    "finalize_zero_amount_invoice": "skip",
}


def assert_full_customer(body: dict[str, Any], external_id: str, *, raw: bool) -> None:
    """``raw``: the JSON body; otherwise the client's model, which drops metadata ``created_at``."""
    assert body["external_id"] == external_id
    assert _is_uuid(body["lago_id"])
    for key, value in SENT_FIELDS.items():
        assert body[key] == value, key
    assert body["billing_configuration"]["invoice_grace_period"] == 3
    assert body["billing_configuration"]["document_locale"] == "fr"
    assert body["shipping_address"] == {
        "address_line1": "2 Hafenstraße",
        "address_line2": None,
        "city": "Hamburg",
        "zipcode": "20457",
        "state": None,
        "country": "DE",
    }
    [meta] = body["metadata"]
    assert _is_uuid(meta["lago_id"])
    assert {k: meta[k] for k in ("key", "value", "display_in_invoice")} == {
        "key": "purchase_order",
        "value": "PO-42",
        "display_in_invoice": True,
    }
    if raw:
        assert ISO_Z.match(meta["created_at"])
    else:
        assert "created_at" not in meta
    assert ISO_Z.match(body["created_at"])
    assert ISO_Z.match(body["updated_at"])


@pytest.fixture(scope="module")
def organization(http: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = http.get("/organizations").json()["organization"]
    return body


def test_create_customer_round_trips_every_field(client: Client, http: httpx.Client) -> None:
    external_id = _ext("full")
    created = client.customers.create(full_customer(external_id))
    assert created is not None
    assert_full_customer(created.dict(), external_id, raw=False)

    found = client.customers.find(external_id)
    assert found == created

    raw = http.get(f"/customers/{external_id}")
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/customers/{external_customer_id}")
    assert_full_customer(raw.json()["customer"], external_id, raw=True)
    assert raw.json()["customer"]["lago_id"] == created.lago_id


def test_minimal_customer_defaults(
    http: httpx.Client, organization: dict[str, Any], org: OrgCredentials
) -> None:
    first = http.post("/customers", json={"customer": {"external_id": _ext("min")}})
    assert first.status_code == 200, first.text
    assert_response_matches_openapi(first, "/customers")
    second = http.post("/customers", json={"customer": {"external_id": _ext("min"), "name": "Second"}})
    assert second.status_code == 200, second.text
    a, b = first.json()["customer"], second.json()["customer"]

    assert a["name"] is None
    assert a["currency"] is None
    assert a["timezone"] is None
    assert a["applicable_timezone"] == organization["timezone"]
    assert a["account_type"] == "customer"
    assert a["customer_type"] is None
    assert a["finalize_zero_amount_invoice"] == "inherit"
    assert a["net_payment_term"] is None
    assert a["metadata"] == []
    assert a["billing_entity_code"] == org.billing_entity_code
    # sequential_id is a per-organization counter; the slug is "<org prefix>-<seq:03d>".
    assert b["sequential_id"] == a["sequential_id"] + 1
    assert a["slug"] == f"{organization['document_number_prefix']}-{a['sequential_id']:03d}"
    assert b["slug"] == f"{organization['document_number_prefix']}-{b['sequential_id']:03d}"


def test_create_is_an_upsert_on_external_id(client: Client, http: httpx.Client) -> None:
    external_id = _ext("upsert")
    created = client.customers.create(full_customer(external_id))
    assert created is not None
    updated = client.customers.create(
        Customer(external_id=external_id, name="Acme Renamed", email="ap@acme.test")
    )
    assert updated is not None
    assert updated.lago_id == created.lago_id
    assert updated.name == "Acme Renamed"
    assert updated.email == "ap@acme.test"
    assert updated.created_at == created.created_at
    assert updated.updated_at >= created.updated_at
    # Fields absent from the update keep their values.
    unchanged = {k: v for k, v in SENT_FIELDS.items() if k not in ("name", "email")}
    for key, value in unchanged.items():
        assert getattr(updated, key) == value, key
    assert updated.metadata == created.metadata
    assert updated.shipping_address == created.shipping_address

    again = http.post("/customers", json={"customer": {"external_id": external_id, "city": "Lyon"}})
    assert again.status_code == 200
    assert_response_matches_openapi(again, "/customers")
    assert again.json()["customer"]["city"] == "Lyon"
    assert again.json()["customer"]["name"] == "Acme Renamed"
    assert client.customers.find(external_id).city == "Lyon"


def test_find_all_paginates(client: Client, http: httpx.Client) -> None:
    mine = {
        client.customers.create(Customer(external_id=_ext("page"), name=f"Page {i}")).lago_id
        for i in range(3)
    }

    everything = client.customers.find_all({"per_page": 100})
    total = everything["meta"]["total_count"]
    all_ids = [c.lago_id for c in everything["customers"]]
    assert len(all_ids) == total
    assert len(set(all_ids)) == total
    assert mine <= set(all_ids)
    assert everything["meta"] == {
        "current_page": 1,
        "next_page": None,
        "prev_page": None,
        "total_pages": 1,
        "total_count": total,
    }

    per_page = 2
    pages = math.ceil(total / per_page)
    seen: list[str] = []
    for page in range(1, pages + 1):
        result = client.customers.find_all({"per_page": per_page, "page": page})
        assert result["meta"] == {
            "current_page": page,
            "next_page": page + 1 if page < pages else None,
            "prev_page": page - 1 if page > 1 else None,
            "total_pages": pages,
            "total_count": total,
        }
        assert len(result["customers"]) == (per_page if page < pages else total - per_page * (pages - 1))
        seen.extend(c.lago_id for c in result["customers"])
    assert sorted(seen) == sorted(all_ids)

    beyond = client.customers.find_all({"per_page": per_page, "page": pages + 1})
    assert beyond["customers"] == []
    assert beyond["meta"]["total_count"] == total

    raw = http.get("/customers", params={"per_page": per_page, "page": 1})
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/customers")
    assert [c["lago_id"] for c in raw.json()["customers"]] == seen[:per_page]


def test_destroy_customer(client: Client, http: httpx.Client) -> None:
    external_id = _ext("gone")
    created = client.customers.create(Customer(external_id=external_id, name="Short-lived"))
    assert created is not None

    deleted = client.customers.destroy(external_id)
    assert deleted.lago_id == created.lago_id
    assert deleted.external_id == external_id
    assert deleted.name == "Short-lived"

    with pytest.raises(LagoApiError) as excinfo:
        client.customers.find(external_id)
    assert excinfo.value.status_code == 404
    assert excinfo.value.response == {"status": 404, "error": "Not Found", "code": "customer_not_found"}
    assert external_id not in {
        c.external_id for c in client.customers.find_all({"per_page": 100})["customers"]
    }

    # The external id is free again: a new customer, not the deleted one.
    reborn = client.customers.create(Customer(external_id=external_id, name="Reborn"))
    assert reborn is not None
    assert reborn.lago_id != created.lago_id

    raw = http.delete(f"/customers/{external_id}")
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/customers/{external_customer_id}")
    assert raw.json()["customer"]["lago_id"] == reborn.lago_id


def test_unknown_customer_is_404(client: Client, http: httpx.Client) -> None:
    with pytest.raises(LagoApiError) as excinfo:
        client.customers.find("does-not-exist")
    assert excinfo.value.status_code == 404
    assert excinfo.value.response == {"status": 404, "error": "Not Found", "code": "customer_not_found"}

    with pytest.raises(LagoApiError) as excinfo:
        client.customers.destroy("does-not-exist")
    assert excinfo.value.status_code == 404
    assert excinfo.value.response == {"status": 404, "error": "Not Found", "code": "customer_not_found"}

    raw = http.get("/customers/does-not-exist")
    assert raw.status_code == 404
    assert_response_matches_openapi(raw, "/customers/{external_customer_id}")


def test_customer_validation_errors(client: Client, http: httpx.Client) -> None:
    missing = http.post("/customers", json={"customer": {"name": "No external id"}})
    assert missing.status_code == 422
    assert_response_matches_openapi(missing, "/customers")
    assert missing.json() == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": {"external_id": ["value_is_mandatory"]},
    }

    with pytest.raises(LagoApiError) as excinfo:
        client.customers.create(Customer(external_id=_ext("bad"), currency="ZZZ"))
    assert excinfo.value.status_code == 422
    assert excinfo.value.response["code"] == "validation_errors"
    assert excinfo.value.response["error_details"] == {"currency": ["value_is_invalid"]}

    no_root = http.post("/customers", json={"external_id": "x"})
    assert no_root.status_code == 400
    assert_response_matches_openapi(no_root, "/customers")
    assert no_root.json() == {
        "status": 400,
        "error": "BadRequest: param is missing or the value is empty or invalid: customer",
    }
