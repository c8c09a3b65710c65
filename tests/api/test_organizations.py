from __future__ import annotations

from billow.webhooks.models import WebhookEndpoint


def test_update_organization_settings(api, org):
    r = api.put(
        "/organizations",
        {
            "organization": {
                "timezone": "Europe/Paris",
                "default_currency": "EUR",
                "country": "fr",
                "email": "billing@acme.test",
                "net_payment_term": 30,
                "document_numbering": "per_organization",
                "document_number_prefix": "acme-1",
                "email_settings": ["invoice.finalized"],
                "billing_configuration": {
                    "invoice_grace_period": 3,
                    "invoice_footer": "Thanks",
                    "document_locale": "fr",
                },
                "finalize_zero_amount_invoice": False,
            }
        },
    )
    assert r.status_code == 200, r.text
    o = r.json()["organization"]
    assert o["timezone"] == "Europe/Paris"
    assert o["default_currency"] == "EUR"
    assert o["country"] == "FR"
    assert o["net_payment_term"] == 30
    assert o["document_numbering"] == "per_organization"
    assert o["document_number_prefix"] == "ACME-1"
    assert o["email_settings"] == ["invoice.finalized"]
    assert o["billing_configuration"] == {
        "invoice_footer": "Thanks",
        "invoice_grace_period": 3,
        "document_locale": "fr",
    }
    assert o["finalize_zero_amount_invoice"] is False
    assert api.get("/organizations").json()["organization"] == o


def test_update_organization_validation(api):
    cases = [
        ({"timezone": "Mars/Base"}, {"timezone": ["invalid_timezone"]}),
        ({"default_currency": "XXX"}, {"default_currency": ["value_is_invalid"]}),
        ({"document_numbering": "random"}, {"document_numbering": ["value_is_invalid"]}),
        ({"net_payment_term": -1}, {"net_payment_term": ["value_is_out_of_range"]}),
        (
            {"document_number_prefix": "ABCDEFGHIJK"},
            {"document_number_prefix": ["value_length_is_out_of_range"]},
        ),
        ({"email": "nope"}, {"email": ["invalid_email_format"]}),
        ({"country": "ZZ"}, {"country": ["not_a_valid_country_code"]}),
    ]
    before = api.get("/organizations").json()
    for body, details in cases:
        r = api.put("/organizations", {"organization": body})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error_details"] == details
    assert api.get("/organizations").json() == before


def test_legacy_webhook_url_overwrites_first_endpoint(api, runtime):
    r = api.put("/organizations", {"organization": {"webhook_url": "https://h.test/one"}})
    assert r.json()["organization"]["webhook_url"] == "https://h.test/one"
    api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": "https://h.test/two"}})
    r = api.put("/organizations", {"organization": {"webhook_url": "https://h.test/uno"}})
    o = r.json()["organization"]
    assert o["webhook_url"] == "https://h.test/uno"
    assert o["webhook_urls"] == ["https://h.test/uno", "https://h.test/two"]
    with runtime.db.session() as s:
        assert s.query(WebhookEndpoint).count() == 2
