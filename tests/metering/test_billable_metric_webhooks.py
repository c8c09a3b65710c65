"""billable_metric.created/updated/deleted: queued once per endpoint, with Lago's exact envelope."""

from __future__ import annotations

from sqlalchemy import select

from billow.jobs.models import Job
from tests.metering.helpers import add_endpoint, counts, create_metric, webhook_bodies

COUNTERS = ("active_subscriptions_count", "draft_invoices_count", "plans_count")


def without_counters(payload):
    return {k: v for k, v in payload.items() if k not in COUNTERS}


def test_no_endpoint_no_webhook(api, runtime):
    create_metric(api)
    api.put("/billable_metrics/storage", {"billable_metric": {"name": "x"}})
    api.delete("/billable_metrics/storage")
    assert counts(runtime)["webhooks"] == 0
    assert counts(runtime)["jobs"] == 0


def test_created_updated_deleted_envelopes(api, runtime, org):
    add_endpoint(api)
    created = create_metric(api, filters=[{"key": "region", "values": ["us", "eu"]}])
    updated = api.put("/billable_metrics/storage", {"billable_metric": {"name": "Disk"}}).json()[
        "billable_metric"
    ]
    deleted = api.delete("/billable_metrics/storage").json()["billable_metric"]
    bodies = webhook_bodies(runtime)
    assert bodies == [
        {
            "webhook_type": f"billable_metric.{kind}",
            "object_type": "billable_metric",
            "organization_id": str(org.id),
            "billable_metric": without_counters(payload),
        }
        for kind, payload in (("created", created), ("updated", updated), ("deleted", deleted))
    ]
    assert bodies[0]["billable_metric"]["filters"] == [{"key": "region", "values": ["eu", "us"]}]
    with runtime.db.session() as session:
        kinds = session.scalars(select(Job.kind)).all()
    assert kinds == ["webhook.deliver"] * 3


def test_refused_write_queues_nothing(api, runtime):
    add_endpoint(api)
    api.post("/billable_metrics", {"billable_metric": {"name": "x"}})
    assert counts(runtime)["webhooks"] == 0
    assert counts(runtime)["jobs"] == 0
