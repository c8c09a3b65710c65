"""Webhook endpoints API: Lago's shapes, validation codes, limits and tenancy."""

from __future__ import annotations

from sqlalchemy import func, select

from billow.jobs.models import Job
from billow.webhooks.models import WebhookEndpoint


def _count(runtime, model=WebhookEndpoint):
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_create_get_update_list_delete(api, org):
    r = api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": "https://hooks.example.com/a"}})
    assert r.status_code == 200, r.text
    ep = r.json()["webhook_endpoint"]
    assert ep == {
        "lago_id": ep["lago_id"],
        "lago_organization_id": str(org.id),
        "webhook_url": "https://hooks.example.com/a",
        "signature_algo": "jwt",
        "name": None,
        "event_types": None,
        "created_at": "2024-01-01T00:00:00Z",
    }
    r = api.put(
        f"/webhook_endpoints/{ep['lago_id']}",
        {
            "webhook_endpoint": {
                "signature_algo": "hmac",
                "name": "Main",
                "event_types": [" Customer.Created ", "customer.created", "invoice.created"],
            }
        },
    )
    assert r.status_code == 200, r.text
    upd = r.json()["webhook_endpoint"]
    assert (upd["signature_algo"], upd["name"], upd["event_types"]) == (
        "hmac",
        "Main",
        ["customer.created", "invoice.created"],
    )
    assert upd["webhook_url"] == "https://hooks.example.com/a"
    assert api.get(f"/webhook_endpoints/{ep['lago_id']}").json()["webhook_endpoint"] == upd
    r = api.get("/webhook_endpoints")
    assert r.json() == {
        "webhook_endpoints": [upd],
        "meta": {"current_page": 1, "next_page": None, "prev_page": None, "total_pages": 1, "total_count": 1},
    }
    r = api.delete(f"/webhook_endpoints/{ep['lago_id']}")
    assert r.status_code == 200
    assert r.json()["webhook_endpoint"]["lago_id"] == ep["lago_id"]
    assert api.get(f"/webhook_endpoints/{ep['lago_id']}").status_code == 404


def test_star_event_types_means_all(api):
    r = api.post(
        "/webhook_endpoints", {"webhook_endpoint": {"webhook_url": "https://h.test/x", "event_types": ["*"]}}
    )
    assert r.json()["webhook_endpoint"]["event_types"] is None


def test_validation_errors_store_nothing(api, runtime):
    cases = [
        ({"webhook_url": "not a url"}, {"webhook_url": ["url_is_invalid"]}),
        ({"webhook_url": ""}, {"webhook_url": ["value_is_mandatory"]}),
        ({"name": "x"}, {"webhook_url": ["value_is_mandatory"]}),
        (
            {"webhook_url": "https://h.test/1", "signature_algo": "md5"},
            {"signature_algo": ["value_is_invalid"]},
        ),
        (
            {"webhook_url": "https://h.test/1", "event_types": "customer.created"},
            {"event_types": ["must_be_array"]},
        ),
        (
            {"webhook_url": "https://h.test/1", "event_types": ["customer.created", "foo.bar", "a.b"]},
            {"event_types": ["contains invalid types: a.b, foo.bar"]},
        ),
    ]
    for body, details in cases:
        r = api.post("/webhook_endpoints", {"webhook_endpoint": body})
        assert r.status_code == 422, (body, r.text)
        assert r.json() == {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": details,
        }
    assert _count(runtime) == 0
    assert _count(runtime, Job) == 0


def test_duplicate_url_and_max_ten(api, runtime):
    for i in range(10):
        assert (
            api.post(
                "/webhook_endpoints", {"webhook_endpoint": {"webhook_url": f"https://h.test/{i}"}}
            ).status_code
            == 200
        )
    r = api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": "https://h.test/3"}})
    assert r.json()["error_details"] == {"webhook_url": ["value_already_exist"]}
    r = api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": "https://h.test/new"}})
    assert r.status_code == 422
    assert r.json()["error_details"] == {"base": ["Maximum number of webhook endpoints was reached"]}
    assert _count(runtime) == 10


def test_other_organization_endpoint_is_404(api, other_api):
    ep = api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": "https://h.test/a"}}).json()[
        "webhook_endpoint"
    ]
    not_found = {"status": 404, "error": "Not Found", "code": "webhook_endpoint_not_found"}
    assert other_api.get(f"/webhook_endpoints/{ep['lago_id']}").json() == not_found
    assert (
        other_api.put(f"/webhook_endpoints/{ep['lago_id']}", {"webhook_endpoint": {"name": "x"}}).status_code
        == 404
    )
    assert other_api.delete(f"/webhook_endpoints/{ep['lago_id']}").status_code == 404
    assert other_api.get("/webhook_endpoints").json()["webhook_endpoints"] == []
    assert api.get(f"/webhook_endpoints/{ep['lago_id']}").status_code == 200
    assert api.get("/webhook_endpoints/not-a-uuid").json() == not_found


def test_same_url_allowed_in_two_organizations(api, other_api):
    body = {"webhook_endpoint": {"webhook_url": "https://shared.test/hook"}}
    assert api.post("/webhook_endpoints", body).status_code == 200
    assert other_api.post("/webhook_endpoints", body).status_code == 200


def test_empty_list_meta_quirk(api):
    assert api.get("/webhook_endpoints").json() == {
        "webhook_endpoints": [],
        "meta": {"current_page": 0, "next_page": None, "prev_page": None, "total_pages": 0, "total_count": 0},
    }


def test_pagination(api):
    for i in range(5):
        api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": f"https://h.test/{i}"}})
    r = api.get("/webhook_endpoints", page=2, per_page=2).json()
    assert [e["webhook_url"] for e in r["webhook_endpoints"]] == ["https://h.test/2", "https://h.test/3"]
    assert r["meta"] == {
        "current_page": 2,
        "next_page": 3,
        "prev_page": 1,
        "total_pages": 3,
        "total_count": 5,
    }
