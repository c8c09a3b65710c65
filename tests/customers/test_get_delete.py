"""GET and DELETE /customers/{external_id}; tenancy."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from billow.customers.models import Customer
from tests.customers.helpers import add_endpoint, bare_customer, counts

NOT_FOUND = {"status": 404, "error": "Not Found", "code": "customer_not_found"}


def test_get_customer(api, org):
    created = api.post("/customers", {"customer": {"external_id": "cus_1", "name": "Gavin"}}).json()[
        "customer"
    ]
    r = api.get("/customers/cus_1")
    assert r.status_code == 200
    assert r.json() == {"customer": bare_customer(created["lago_id"], org, name="Gavin")}


def test_get_unknown_is_404(api):
    r = api.get("/customers/nope")
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_external_id_with_dots_and_spaces(api):
    assert api.post("/customers", {"customer": {"external_id": "a.b c@d"}}).status_code == 200
    assert api.get("/customers/a.b c@d").json()["customer"]["external_id"] == "a.b c@d"


def test_delete_soft_deletes_and_returns_object(api, org, runtime):
    created = api.post("/customers", {"customer": {"external_id": "cus_1"}}).json()["customer"]
    add_endpoint(api)
    runtime.clock.set(datetime(2024, 1, 5, 10, 0, tzinfo=UTC))
    before = counts(runtime)
    r = api.delete("/customers/cus_1")
    assert r.status_code == 200
    assert r.json() == {
        "customer": bare_customer(created["lago_id"], org, updated_at="2024-01-05T10:00:00Z"),
    }
    assert counts(runtime) == before  # kept as a row, and Lago sends no webhook for a deletion
    with runtime.db.session() as session:
        row = session.scalar(select(Customer).where(Customer.external_id == "cus_1"))
        assert row is not None
        assert row.deleted_at == datetime(2024, 1, 5, 10, 0, tzinfo=UTC)
    assert (api.get("/customers/cus_1").status_code, api.delete("/customers/cus_1").status_code) == (404, 404)


def test_deleted_external_id_can_be_reused(api, runtime):
    first = api.post("/customers", {"customer": {"external_id": "cus_1", "name": "Old"}}).json()["customer"]
    api.delete("/customers/cus_1")
    r = api.post("/customers", {"customer": {"external_id": "cus_1"}})
    assert r.status_code == 200
    second = r.json()["customer"]
    assert second["lago_id"] != first["lago_id"]
    assert second["name"] is None
    assert api.get("/customers/cus_1").json()["customer"]["lago_id"] == second["lago_id"]
    assert counts(runtime)["customers"] == 2


def test_other_organizations_customer_is_404(api, other_api, runtime):
    assert api.post("/customers", {"customer": {"external_id": "cus_1", "name": "Mine"}}).status_code == 200
    assert (other_api.get("/customers/cus_1").status_code, other_api.get("/customers/cus_1").json()) == (
        404,
        NOT_FOUND,
    )
    r = other_api.delete("/customers/cus_1")
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    assert api.get("/customers/cus_1").status_code == 200


def test_same_external_id_in_two_organizations_are_distinct(api, other_api):
    mine = api.post("/customers", {"customer": {"external_id": "cus_1", "name": "Mine"}}).json()["customer"]
    theirs = other_api.post("/customers", {"customer": {"external_id": "cus_1", "name": "Theirs"}}).json()[
        "customer"
    ]
    assert mine["lago_id"] != theirs["lago_id"]
    assert api.get("/customers/cus_1").json()["customer"]["name"] == "Mine"
    assert other_api.get("/customers/cus_1").json()["customer"]["name"] == "Theirs"


def test_unauthenticated_is_401(app_client):
    r = app_client.get("/api/v1/customers")
    assert (r.status_code, r.json()) == (401, {"status": 401, "error": "Unauthorized"})
