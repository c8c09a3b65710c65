"""The OpenAPI helper itself: right bodies pass, wrong bodies fail, a missing document is a no-op."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.openapi import (
    SPEC_MISSING,
    SPEC_URI,
    OpenApiSpec,
    assert_matches_openapi,
    assert_matches_schema,
    assert_matches_webhook,
    assert_response_matches_openapi,
    load_spec,
    spec_path,
)

needs_spec = pytest.mark.skipif(not isinstance(load_spec(), OpenApiSpec), reason=f"{spec_path()} is absent")

UUID = "1a901a90-1a90-1a90-1a90-1a901a901a90"


def customer(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "lago_id": UUID,
        "sequential_id": 1,
        "slug": "ACM-1234-001",
        "external_id": "cust-1",
        "applicable_timezone": "UTC",
        "created_at": "2024-01-01T00:00:00Z",
        "name": None,
        "currency": "EUR",
        "country": None,
        "metadata": [],
    }
    body.update(overrides)
    return body


def test_missing_document_makes_every_check_a_no_op(tmp_path: Path) -> None:
    absent = load_spec(tmp_path / "absent.yaml")
    assert absent is SPEC_MISSING
    assert_matches_openapi("get", "/not/a/path", 200, {"anything": "goes"}, spec=absent)
    assert_matches_schema("NoSuchSchema", 42, spec=absent)
    assert_matches_webhook("no.such", [], spec=absent)


@needs_spec
def test_valid_customer_body_passes() -> None:
    assert_matches_openapi("get", "/customers/{external_customer_id}", 200, {"customer": customer()})
    assert_matches_openapi("post", "/customers", 200, {"customer": customer(name="Ada")})


@needs_spec
@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"customer": customer(sequential_id="1")}, "'1' is not of type 'integer'"),
        (
            {"customer": {k: v for k, v in customer().items() if k != "external_id"}},
            "'external_id' is a required",
        ),
        ({"customer": customer(external_id=None)}, "None is not of type 'string'"),
        ({"customer": customer(currency="EURO")}, "'EURO' is not one of"),
        ({"customer": customer(metadata=[{"key": "k"}])}, "is a required property"),
        ({"not_customer": customer()}, "'customer' is a required property"),
    ],
)
def test_wrong_customer_body_fails(body: dict[str, Any], complaint: str) -> None:
    with pytest.raises(AssertionError) as excinfo:
        assert_matches_openapi("get", "/customers/{external_customer_id}", 200, body)
    assert complaint in str(excinfo.value)


@needs_spec
def test_format_is_only_an_annotation() -> None:
    assert_matches_openapi(
        "get", "/customers/{external_customer_id}", 200, {"customer": customer(created_at="soon")}
    )


@needs_spec
def test_response_refs_are_followed() -> None:
    not_found = {"status": 404, "error": "Not Found", "code": "customer_not_found"}
    assert_matches_openapi("get", "/customers/{external_customer_id}", 404, not_found)
    with pytest.raises(AssertionError, match="'code' is a required property"):
        assert_matches_openapi("get", "/customers/{external_customer_id}", 404, {"status": 404, "error": "x"})
    with pytest.raises(AssertionError, match="error_details"):
        assert_matches_openapi(
            "post",
            "/customers",
            422,
            {"status": 422, "error": "Unprocessable Entity", "code": "validation_errors"},
        )


@needs_spec
def test_undocumented_status_path_or_method_fails() -> None:
    with pytest.raises(AssertionError, match="status 201 is not documented"):
        assert_matches_openapi("post", "/customers", 201, {"customer": customer()})
    with pytest.raises(AssertionError, match="not a path"):
        assert_matches_openapi("get", "/customerz", 200, {})
    with pytest.raises(AssertionError, match="not an operation"):
        assert_matches_openapi("patch", "/customers", 200, {})


@needs_spec
def test_text_plain_response() -> None:
    assert_matches_openapi(
        "get", "/webhooks/public_key", 200, "LS0tLS1CRUdJTi==\n", content_type="text/plain"
    )
    with pytest.raises(AssertionError, match="is not of type 'string'"):
        assert_matches_openapi(
            "get", "/webhooks/public_key", 200, {"public_key": "x"}, content_type="text/plain"
        )


@needs_spec
def test_response_object_helper() -> None:
    request = httpx.Request("GET", "http://billow.test/api/v1/webhooks/json_public_key")
    good = httpx.Response(200, json={"webhook": {"public_key": "abc"}}, request=request)
    assert_response_matches_openapi(good, "/webhooks/json_public_key")
    bad = httpx.Response(200, json={"webhook": {"key": "abc"}}, request=request)
    with pytest.raises(AssertionError, match="'public_key' is a required property"):
        assert_response_matches_openapi(bad, "/webhooks/json_public_key")


@needs_spec
def test_type_list_with_null_and_nullable_keyword() -> None:
    spec = load_spec()
    assert isinstance(spec, OpenApiSpec)
    # type: [string, 'null']
    assert_matches_schema(
        "PaginationMeta", {"current_page": 1, "next_page": None, "total_pages": 1, "total_count": 1}
    )
    with pytest.raises(AssertionError):
        assert_matches_schema("PaginationMeta", {"current_page": None, "total_pages": 1, "total_count": 1})
    # OpenAPI 3.0's `nullable: true` beside a $ref still allows null.
    country = {"$ref": f"{SPEC_URI}#/components/schemas/BillingEntityObject/properties/country"}
    assert spec.errors(country, None) == []
    assert spec.errors(country, "FR") == []
    assert spec.errors(country, "ZZ") != []


@needs_spec
def test_component_schema() -> None:
    assert_matches_schema("CustomerObject", customer())
    with pytest.raises(AssertionError, match="'slug' is a required property"):
        assert_matches_schema("CustomerObject", {k: v for k, v in customer().items() if k != "slug"})
    with pytest.raises(AssertionError, match="is not in the OpenAPI document"):
        assert_matches_schema("NoSuchSchema", {})


@needs_spec
def test_webhook_envelope_schema() -> None:
    envelope = {"webhook_type": "customer.created", "object_type": "customer", "organization_id": UUID}
    assert_matches_webhook("customer.created", {**envelope, "customer": customer()})
    with pytest.raises(AssertionError, match="is not one of"):
        assert_matches_webhook(
            "customer.created", {**envelope, "webhook_type": "customer.made", "customer": customer()}
        )
    with pytest.raises(AssertionError, match="'customer' is a required property"):
        assert_matches_webhook("customer.created", envelope)


@needs_spec
def test_documented_deviations_follow_lago() -> None:
    event = {
        "transaction_id": "tx",
        "lago_customer_id": None,
        "code": "storage",
        "timestamp": "2024-01-01T00:00:00.000Z",
        "lago_subscription_id": None,
        "external_subscription_id": "sub",
    }
    # oneOf [string, integer, number] read as anyOf: an integer property is fine, an object is not.
    assert_matches_schema("EventObject", {**event, "properties": {"gb": 10, "rate": 1.5, "region": "eu"}})
    with pytest.raises(AssertionError, match="properties/nested"):
        assert_matches_schema("EventObject", {**event, "properties": {"nested": {"a": 1}}})
    # Lago sends expression: null on metrics without one.
    metric = {
        "lago_id": UUID,
        "name": "Calls",
        "code": "calls",
        "aggregation_type": "count_agg",
        "recurring": False,
        "created_at": "2024-01-01T00:00:00Z",
        "expression": None,
    }
    assert_matches_schema("BillableMetricObject", metric)
    with pytest.raises(AssertionError, match="42 is not valid under any of the given schemas"):
        assert_matches_schema("BillableMetricObject", {**metric, "expression": 42})
