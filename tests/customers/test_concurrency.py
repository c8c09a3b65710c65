"""Concurrent creates: sequential ids stay distinct and gapless; one live customer per external_id."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from billow.customers.models import Customer
from billow.customers.schemas import CustomerInput
from billow.customers.service import upsert_customer
from billow.db.context import Ctx


def _ctx(runtime, session, org):
    return Ctx(session=session, clock=runtime.clock, settings=runtime.settings, organization_id=org.id)


def test_second_create_waits_for_the_first_transaction(runtime, org):
    first = runtime.db.sessionmaker()
    try:
        created = upsert_customer(_ctx(runtime, first, org), CustomerInput(external_id="a")).customer
        assert created.sequential_id == 1
        seen: dict[str, int] = {}

        def create_b() -> None:
            with runtime.db.session() as session:
                seen["b"] = upsert_customer(
                    _ctx(runtime, session, org), CustomerInput(external_id="b")
                ).customer.sequential_id

        worker = threading.Thread(target=create_b)
        worker.start()
        worker.join(0.5)
        assert worker.is_alive(), "the second create must wait for the first transaction"
        first.commit()
    finally:
        first.close()
    worker.join(30)
    assert seen == {"b": 2}


def _create(runtime, org, external_id: str, barrier: threading.Barrier) -> int:
    barrier.wait()
    with runtime.db.session() as session:
        return upsert_customer(
            _ctx(runtime, session, org), CustomerInput(external_id=external_id)
        ).customer.sequential_id


def test_parallel_creates_get_distinct_gapless_ids(runtime, org):
    n = 6
    barrier = threading.Barrier(n)
    with ThreadPoolExecutor(max_workers=n) as pool:
        ids = list(pool.map(lambda i: _create(runtime, org, f"c{i}", barrier), range(n)))
    assert sorted(ids) == list(range(1, n + 1))


def test_parallel_creates_of_one_external_id_make_one_customer(runtime, org):
    n = 4
    barrier = threading.Barrier(n)
    with ThreadPoolExecutor(max_workers=n) as pool:
        ids = list(pool.map(lambda _: _create(runtime, org, "same", barrier), range(n)))
    assert ids == [1] * n
    with runtime.db.session() as session:
        assert len(session.scalars(select(Customer)).all()) == 1
