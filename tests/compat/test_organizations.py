"""``PUT /organizations`` through ``lago_python_client``'s ``organizations.update``."""

from __future__ import annotations

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models import Organization, OrganizationBillingConfiguration

from tests.support.live_server import LiveServer, OrgCredentials
from tests.support.openapi import assert_response_matches_openapi


def test_update_organization(client: Client, http: httpx.Client, org: OrgCredentials) -> None:
    before = http.get("/organizations").json()["organization"]
    assert before["lago_id"] == org.id
    assert before["name"] == org.name
    assert before["timezone"] == "UTC"
    assert before["default_currency"] == "USD"
    assert "hmac_key" not in before

    updated = client.organizations.update(
        Organization(
            default_currency="EUR",
            timezone="Europe/Paris",
            document_number_prefix="acme-1",
            document_numbering="per_organization",
            net_payment_term=15,
            country="FR",
            city="Paris",
            email="billing@acme.test",
            legal_name="Acme SAS",
            email_settings=["invoice.finalized"],
            finalize_zero_amount_invoice=False,
            billing_configuration=OrganizationBillingConfiguration(
                invoice_footer="Merci", invoice_grace_period=2, document_locale="fr"
            ),
        )
    )
    assert updated.name == org.name
    assert updated.timezone == "Europe/Paris"
    assert updated.document_number_prefix == "ACME-1"  # capitalized
    assert updated.document_numbering == "per_organization"
    assert updated.net_payment_term == 15
    assert updated.country == "FR"
    assert updated.city == "Paris"
    assert updated.email == "billing@acme.test"
    assert updated.legal_name == "Acme SAS"
    assert updated.email_settings == ["invoice.finalized"]
    assert updated.finalize_zero_amount_invoice is False
    assert updated.billing_configuration is not None
    assert updated.billing_configuration.dict() == {
        "invoice_footer": "Merci",
        "invoice_grace_period": 2,
        "document_locale": "fr",
    }
    assert updated.created_at == before["created_at"]

    after = http.get("/organizations").json()["organization"]
    assert after["default_currency"] == "EUR"
    for key, value in updated.dict().items():
        assert after[key] == value, key
    # Untouched fields keep their values.
    assert after["address_line1"] == before["address_line1"]
    assert after["lago_id"] == before["lago_id"]


def test_update_organization_raw_matches_openapi(http: httpx.Client) -> None:
    r = http.put(
        "/organizations", json={"organization": {"timezone": "America/New_York", "zipcode": "10001"}}
    )
    assert r.status_code == 200, r.text
    assert_response_matches_openapi(r, "/organizations")
    body = r.json()["organization"]
    assert body["timezone"] == "America/New_York"
    assert body["zipcode"] == "10001"

    bad = http.put("/organizations", json={"organization": {"timezone": "Mars/Base"}})
    assert bad.status_code == 422
    assert_response_matches_openapi(bad, "/organizations")
    assert bad.json() == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": {"timezone": ["invalid_timezone"]},
    }

    missing_root = http.put("/organizations", json={"timezone": "UTC"})
    assert missing_root.status_code == 400
    assert_response_matches_openapi(missing_root, "/organizations")


def test_update_organization_errors_through_client(client: Client) -> None:
    with pytest.raises(LagoApiError) as excinfo:
        client.organizations.update(
            Organization(default_currency="USD", document_number_prefix="ABCDEFGHIJK")
        )
    assert excinfo.value.status_code == 422
    assert excinfo.value.response["error_details"] == {
        "document_number_prefix": ["value_length_is_out_of_range"]
    }


def test_unknown_api_key_is_rejected(server: LiveServer) -> None:
    bad = Client(api_key="not-a-key", api_url=server.api_url)
    with pytest.raises(LagoApiError) as excinfo:
        bad.organizations.update(Organization(default_currency="USD"))
    assert excinfo.value.status_code == 401
    assert excinfo.value.response == {"status": 401, "error": "Unauthorized"}
