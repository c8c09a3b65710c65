"""``plan_by_id`` in a batch of billing jobs: a plan read by an earlier job is merged into the
group's session from its snapshot once, and kept there for the group's later jobs."""

from __future__ import annotations

import gc
import uuid
from dataclasses import replace

from sqlalchemy.orm import Session

from billow.billing.catalog import plan_by_id
from billow.db.context import Ctx
from billow.db.prefetch import Prefetched
from billow.pricing.plans.models import Plan
from tests.billing.helpers import plan


def _merges(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = Session.merge

    def counted(self, instance, *args, **kwargs):
        seen.append(type(instance).__name__)
        return real(self, instance, *args, **kwargs)

    monkeypatch.setattr(Session, "merge", counted)
    return seen


def test_a_groups_jobs_share_one_merged_plan(api, runtime, org, monkeypatch) -> None:
    plan_id = uuid.UUID(plan(api, "pro", amount_cents=1000)["lago_id"])
    merges = _merges(monkeypatch)
    shared: dict = {}
    with runtime.db.session() as session:  # an earlier batch's group: reads and snapshots it
        first = Ctx(
            session, runtime.clock, runtime.settings, org.id, shared_reads=shared, prefetched=Prefetched()
        )
        assert plan_by_id(first, plan_id).code == "pro"  # type: ignore[union-attr]
    assert merges == []
    with runtime.db.session() as session:  # a later group of the batch: three jobs
        group = Ctx(
            session, runtime.clock, runtime.settings, org.id, shared_reads=shared, prefetched=Prefetched()
        )
        for _ in range(3):
            found = plan_by_id(replace(group), plan_id)
            assert isinstance(found, Plan) and found.amount_cents == 1000 and found in session
            del found
            gc.collect()  # the identity map holds rows weakly: only the group's reference keeps it
    assert merges == ["Plan"]


def test_outside_a_group_each_call_merges_its_snapshot(api, runtime, org, monkeypatch) -> None:
    plan_id = uuid.UUID(plan(api, "pro", amount_cents=1000)["lago_id"])
    shared: dict = {}
    with runtime.db.session() as session:
        plan_by_id(Ctx(session, runtime.clock, runtime.settings, org.id, shared_reads=shared), plan_id)
    merges = _merges(monkeypatch)
    with runtime.db.session() as session:
        for _ in range(2):
            ctx = Ctx(session, runtime.clock, runtime.settings, org.id, shared_reads=shared)
            assert plan_by_id(ctx, plan_id).code == "pro"  # type: ignore[union-attr]
            gc.collect()
    assert merges == ["Plan", "Plan"]
