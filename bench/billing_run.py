"""Monthly billing-run benchmark (issue 5; prints a table, not a test).

N customers (``--customers``, default 10,000), each with one monthly subscription on a plan with
three usage charges — standard (``calls``, count), graduated (``storage``, sum) and percentage
(``revenue``, sum) — and 100 events per subscription in January 2024. One billing run is the
scheduler tick of 2024-02-01 00:00 (streams the due subscriptions, enqueues one job per customer)
plus draining the queue with real workers (``Worker.drain`` in worker processes). It is timed:

* on SQLite with one worker; on PostgreSQL with one worker and with two worker processes;
* against the raw floor measured in the same run on the same data (the median of 3 passes): the
  per-subscription aggregate queries (3 per subscription) in plain SQL on one DBAPI connection,
  no application code;
* at N and N/10 customers (scaling, on unless ``--no-scaling``): time(N) / time(N/10), target ≤ 12;
  the N/10 one-worker run is the median of ``--small-reps`` runs (default 3): a run of a few
  seconds is the noisiest part of that ratio; the N one-worker run the median of ``--large-reps``
  (default 1; 3 where the box's noise is as large as the margin).

Also ``current_usage`` (``GET /customers/{id}/current_usage`` through the API) of a subscription
with ``--usage-events`` events (default 100,000; median of 7 after a warm-up; target ≤ 100 ms),
and the worker processes' peak RSS (flat: the same at N/10 and N).

Seeding goes around the services for speed: one customer and subscription are created through
them, then cloned with bulk inserts (SQLAlchemy core), and the events are bulk-inserted in their
stored form. Every run bills a fresh copy of the seeded database (PostgreSQL ``CREATE DATABASE …
TEMPLATE``; SQLite a file copy).

    .venv/bin/python bench/billing_run.py [--customers 10000] [--no-scaling] [--small-reps 3]
        [--large-reps 1] [--skip-sqlite] [--skip-pg] [--pg-admin postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from billow.billing.models import Invoice, InvoiceSubscription
from billow.core.clock import ManualClock
from billow.customers.models import Customer
from billow.customers.schemas import CustomerInput
from billow.customers.service import upsert_customer
from billow.db.context import Ctx
from billow.db.migrate import upgrade
from billow.metering.schemas import BillableMetricInput
from billow.metering.service import create_metric
from billow.metering.store.base import EventRecord
from billow.metering.store.sql import SqlEventStore
from billow.organizations.service import create_organization
from billow.pricing.plans.schemas import PlanInput
from billow.pricing.plans.service import create_plan
from billow.runtime import build_runtime
from billow.settings import Settings
from billow.subscriptions.create import create_subscription
from billow.subscriptions.models import Subscription
from billow.subscriptions.schemas import SubscriptionCreateInput

PG_PREFIX = "billow_bench_billing"
START = datetime(2024, 1, 10, 9, tzinfo=UTC)
BILLING_DAY = datetime(2024, 2, 1, tzinfo=UTC)
EVENTS_PER_SUB = (("calls", 40), ("storage", 30), ("revenue", 30))
METRICS = [
    {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"},
    {"name": "Storage", "code": "storage", "aggregation_type": "sum_agg", "field_name": "gb"},
    {"name": "Revenue", "code": "revenue", "aggregation_type": "sum_agg", "field_name": "amount"},
]
FIELDS = {"calls": None, "storage": "gb", "revenue": "amount"}
RANGES = [
    {"from_value": 0, "to_value": 500, "per_unit_amount": "0.02", "flat_amount": "1"},
    {"from_value": 501, "to_value": None, "per_unit_amount": "0.01", "flat_amount": "0"},
]


# -- seeding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    organization_id: Any
    api_key: str
    customers: int


def _plan(metric_ids: dict[str, Any]) -> PlanInput:
    charges = [
        {
            "billable_metric_id": str(metric_ids["calls"]),
            "charge_model": "standard",
            "properties": {"amount": "0.05"},
        },
        {
            "billable_metric_id": str(metric_ids["storage"]),
            "charge_model": "graduated",
            "properties": {"graduated_ranges": RANGES},
        },
        {
            "billable_metric_id": str(metric_ids["revenue"]),
            "charge_model": "percentage",
            "properties": {"rate": "1.5", "fixed_amount": "0.1"},
        },
    ]
    body = {"name": "Pro", "code": "pro", "interval": "monthly", "amount_cents": 3100}
    return PlanInput.model_validate(
        {**body, "amount_currency": "EUR", "pay_in_advance": False, "charges": charges}
    )


def _events(
    org_id: Any, sub: str, per_code: tuple[tuple[str, int], ...], first: int = 0
) -> list[EventRecord]:
    """Deterministic events spread over 2024-01-10 10:00 … 01-31 (values 1–100)."""
    span = int((BILLING_DAY - START).total_seconds()) - 7200
    rows = []
    for code, count in per_code:
        field = FIELDS[code]
        for k in range(first, first + count):
            when = START + timedelta(hours=1, seconds=(k * 7919) % span)
            value = Decimal((k * 31) % 100 + 1)
            rows.append(
                EventRecord(
                    id=uuid.uuid4(),
                    organization_id=org_id,
                    transaction_id=f"{sub}_{code}_{k}",
                    external_subscription_id=sub,
                    code=code,
                    timestamp=when,
                    properties={field: int(value)} if field else {},
                    precise_total_amount_cents=None,
                    value=value if field else None,
                    value_text=str(value) if field else None,
                    value_field=field,
                    created_at=when,
                )
            )
    return rows


def _clone(ctx: Ctx, model: Any, template: Any, count: int, fields: Any) -> None:
    table = model.__table__
    row = dict(ctx.session.execute(select(table).where(table.c.id == template)).mappings().one())
    batch = []
    for n in range(1, count):
        batch.append({**row, **fields(n)})
        if len(batch) == 2000:
            ctx.session.execute(table.insert(), batch)
            batch = []
    if batch:
        ctx.session.execute(table.insert(), batch)


def seed(url: str, customers: int) -> Seed:
    """Catalog and the first customer through the services, the rest cloned; 100 events each."""
    upgrade(url)
    runtime = build_runtime(Settings(database_url=url, clock="manual", clock_start=START), migrate=False)
    clock = ManualClock(START)
    store = SqlEventStore()
    with runtime.db.session() as session:
        created = create_organization(session, name="Bench", now=clock.now())
    org_id = created.organization.id
    with runtime.db.session() as session:
        ctx = Ctx(session, clock, runtime.settings, org_id)
        ids = {m["code"]: create_metric(ctx, BillableMetricInput.model_validate(m)).id for m in METRICS}
        create_plan(ctx, _plan(ids))
        customer = upsert_customer(ctx, CustomerInput(external_id="cus_0")).customer
        sub = create_subscription(
            ctx, SubscriptionCreateInput(external_customer_id="cus_0", plan_code="pro", external_id="sub_0")
        )
        customer_id, sub_id, slug = customer.id, sub.id, customer.slug
    with runtime.db.session() as session:
        ctx = Ctx(session, clock, runtime.settings, org_id)
        new_customers = {n: uuid.uuid4() for n in range(1, customers)}
        base = slug.rsplit("-", 1)[0]
        _clone(
            ctx,
            Customer,
            customer_id,
            customers,
            lambda n: {
                "id": new_customers[n],
                "external_id": f"cus_{n}",
                "sequential_id": n + 1,
                "slug": f"{base}-{n + 1:03d}",
            },
        )
        _clone(
            ctx,
            Subscription,
            sub_id,
            customers,
            lambda n: {"id": uuid.uuid4(), "external_id": f"sub_{n}", "customer_id": new_customers[n]},
        )
    for first in range(0, customers, 100):
        with runtime.db.session() as session:
            ctx = Ctx(session, clock, runtime.settings, org_id)
            rows = [
                e
                for n in range(first, min(customers, first + 100))
                for e in _events(org_id, f"sub_{n}", EVENTS_PER_SUB)
            ]
            store.insert_many(ctx, rows)
    with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    runtime.close()
    return Seed(org_id, created.api_key, customers)


def add_big_subscription(url: str, data: Seed, events: int) -> None:
    """``cus_big`` / ``sub_big`` (started 2024-01-10 09:00) with ``events`` events."""
    runtime = build_runtime(Settings(database_url=url, clock="manual", clock_start=START), migrate=False)
    clock = ManualClock(START)
    with runtime.db.session() as session:
        ctx = Ctx(session, clock, runtime.settings, data.organization_id)
        upsert_customer(ctx, CustomerInput(external_id="cus_big"))
        create_subscription(
            ctx,
            SubscriptionCreateInput(external_customer_id="cus_big", plan_code="pro", external_id="sub_big"),
        )
    store = SqlEventStore()
    for code, share in EVENTS_PER_SUB:
        total = events * share // 100
        for first in range(0, total, 10_000):
            with runtime.db.session() as session:
                ctx = Ctx(session, clock, runtime.settings, data.organization_id)
                count = min(10_000, total - first)
                store.insert_many(
                    ctx, _events(data.organization_id, "sub_big", ((code, count),), first=first)
                )
    with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    runtime.close()


# -- databases -----------------------------------------------------------------------------------


class Databases:
    """Fresh databases: a seeded template and copies of it."""

    def __init__(self, kind: str, pg_admin: str, workdir: Path) -> None:
        self.kind, self.pg_admin, self.workdir = kind, pg_admin, workdir
        self.created: list[str] = []

    def _admin(self, sql: str) -> None:
        engine = create_engine(self.pg_admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(sql))
        engine.dispose()

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.workdir / name}.db"
        return make_url(self.pg_admin).set(database=f"{PG_PREFIX}_{name}").render_as_string(False)

    def fresh(self, name: str) -> str:
        if self.kind == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{PG_PREFIX}_{name}" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{PG_PREFIX}_{name}"')
            self.created.append(name)
        return self.url(name)

    def copy(self, template: str, name: str) -> str:
        if self.kind == "sqlite":
            src = self.workdir / f"{template}.db"
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{src}{suffix}").exists():
                    shutil.copyfile(f"{src}{suffix}", self.workdir / f"{name}.db{suffix}")
            return self.url(name)
        self._admin(f'DROP DATABASE IF EXISTS "{PG_PREFIX}_{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{PG_PREFIX}_{name}" TEMPLATE "{PG_PREFIX}_{template}"')
        self.created.append(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        if self.kind == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{PG_PREFIX}_{name}" WITH (FORCE)')
            self.created.remove(name)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.workdir / name}.db{suffix}").unlink(missing_ok=True)

    def drop_all(self) -> None:
        for name in list(self.created):
            self.drop(name)


# -- the billing run -----------------------------------------------------------------------------


def _runtime(url: str) -> Any:
    runtime = build_runtime(
        Settings(database_url=url, clock="manual", clock_start=BILLING_DAY), migrate=False
    )
    clock = ManualClock(BILLING_DAY)
    runtime.clock = runtime.scheduler.clock = runtime.worker.clock = clock
    return runtime


def _worker_main(url: str, index: int, ready: Any, go: Any, out: Any) -> None:
    runtime = _runtime(url)
    runtime.worker.worker_id = f"bench-{index}"
    ready.set()
    go.wait()
    started, cpu = time.perf_counter(), time.process_time()
    jobs = runtime.worker.drain()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put((index, jobs, time.perf_counter() - started, usage.ru_maxrss, time.process_time() - cpu))
    runtime.close()


@dataclass
class RunResult:
    seconds: float
    tick_seconds: float
    invoices: int
    peak_rss_mb: float
    total_cents: int
    cpu_seconds: float


def billing_run(url: str, workers: int, expected: int) -> RunResult:
    """Tick (in this process) + drain with ``workers`` worker processes, timed together."""
    spawn = mp.get_context("spawn")
    ready = [spawn.Event() for _ in range(workers)]
    go, out = spawn.Event(), spawn.Queue()
    procs = [spawn.Process(target=_worker_main, args=(url, i, ready[i], go, out)) for i in range(workers)]
    for proc in procs:
        proc.start()
    for event in ready:
        event.wait()
    runtime = _runtime(url)
    started = time.perf_counter()
    runtime.scheduler.run_tick(BILLING_DAY)
    tick = time.perf_counter() - started
    go.set()
    results = [out.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    with runtime.db.session() as session:
        invoices = int(session.scalar(select(func.count()).select_from(Invoice)) or 0)
        periods = int(
            session.scalar(select(func.count(func.distinct(InvoiceSubscription.subscription_id)))) or 0
        )
        total = int(session.scalar(select(func.sum(Invoice.total_amount_cents))) or 0)
    runtime.close()
    if not invoices == periods == expected:
        raise SystemExit(f"billing run: {invoices} invoices for {periods} periods, expected {expected}")
    peak = max(r[3] for r in results) / 1024
    return RunResult(elapsed, tick, invoices, peak, total, sum(r[4] for r in results))


# -- the floor -----------------------------------------------------------------------------------


def floor_seconds(url: str, data: Seed) -> float:
    """The 3 aggregate queries of every subscription, plain SQL, one DBAPI connection."""
    engine = create_engine(url)
    pg = engine.dialect.name == "postgresql"
    org = str(data.organization_id) if pg else data.organization_id.hex
    start = "2024-01-10 09:00:00+00" if pg else "2024-01-10 09:00:00.000000"
    end = "2024-01-31 23:59:59.999999+00" if pg else "2024-01-31 23:59:59.999999"
    value = "value" if pg else "value_scaled"
    where = (
        "organization_id = %(o)s AND external_subscription_id = %(s)s AND code = %(c)s"
        " AND deleted_at IS NULL AND timestamp >= %(f)s AND timestamp <= %(t)s"
    )
    queries = [
        ("calls", f"SELECT COUNT(*) FROM events WHERE {where}"),
        ("storage", f"SELECT SUM({value}), COUNT(*) FROM events WHERE {where}"),
        ("revenue", f"SELECT SUM({value}), COUNT(*) FROM events WHERE {where}"),
    ]
    if not pg:
        queries = [
            (c, q.replace("%(o)s", ":o").replace("%(s)s", ":s").replace("%(c)s", ":c")) for c, q in queries
        ]
        queries = [(c, q.replace("%(f)s", ":f").replace("%(t)s", ":t")) for c, q in queries]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for n in range(data.customers):
            for code, sql in queries:
                cursor.execute(sql, {"o": org, "s": f"sub_{n}", "c": code, "f": start, "t": end})
                cursor.fetchall()
        elapsed = time.perf_counter() - started
        raw.rollback()
    finally:
        raw.close()
        engine.dispose()
    return elapsed


# -- current usage -------------------------------------------------------------------------------


def current_usage_ms(url: str, data: Seed, events: int) -> float:
    from fastapi.testclient import TestClient

    from billow.api.app import create_app

    add_big_subscription(url, data, events)
    runtime = _runtime(url)
    assert runtime.manual_clock is not None
    runtime.clock = runtime.scheduler.clock = runtime.worker.clock = ManualClock(
        BILLING_DAY - timedelta(hours=1)
    )
    headers = {"Authorization": f"Bearer {data.api_key}"}
    params = {"external_subscription_id": "sub_big"}
    timings = []
    with TestClient(create_app(runtime)) as client:
        for _ in range(8):
            started = time.perf_counter()
            response = client.get("/api/v1/customers/cus_big/current_usage", headers=headers, params=params)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
        usage = response.json()["customer_usage"]
        units = {c["billable_metric"]["code"]: c["units"] for c in usage["charges_usage"]}
    runtime.close()
    assert sum(float(u) for u in units.values()) > 0, units
    return statistics.median(timings[1:]) * 1000


# -- main ----------------------------------------------------------------------------------------


def _run_median(dbs: Databases, template: str, name: str, workers: int, size: int, reps: int) -> RunResult:
    """``reps`` runs on fresh copies of ``template``; the one of median time (a short run is the
    noisiest part of the scaling ratio: its denominator)."""
    results = []
    for rep in range(reps):
        url = dbs.copy(template, f"{name}_{rep}")
        results.append(billing_run(url, workers, size))
        dbs.drop(f"{name}_{rep}")
    if reps > 1:
        print(f"  ({reps} runs: {', '.join(f'{r.seconds:.2f}' for r in results)} s; median kept)", flush=True)
    return sorted(results, key=lambda r: r.seconds)[len(results) // 2]


def measure(
    kind: str,
    dbs: Databases,
    customers: int,
    usage_events: int,
    scaling: bool,
    small_reps: int = 3,
    large_reps: int = 1,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    sizes = [customers // 10, customers] if scaling and customers >= 10 else [customers]
    small_time: float | None = None
    for size in sizes:
        template = f"seed_{size}"
        started = time.perf_counter()
        data = seed(dbs.fresh(template), size)
        print(
            f"[{kind}] seeded {size} customers × 100 events in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        # The median of 3: a loaded box slows a single pass of the floor as much as a run.
        floors = [floor_seconds(dbs.url(template), data) for _ in range(3)]
        floor = statistics.median(floors)
        print(
            f"[{kind}] floor {size}: {floor:.2f} s (of {', '.join(f'{f:.2f}' for f in floors)})", flush=True
        )
        worker_counts = [1, 2] if kind == "postgresql" else [1]
        one: float | None = None
        for workers in worker_counts:
            reps = 1
            if workers == 1 and len(sizes) > 1:
                reps = small_reps if size == sizes[0] else large_reps
            result = _run_median(dbs, template, f"run_{size}_{workers}", workers, size, reps)
            print(
                f"[{kind}] {size} subs, {workers} worker(s): {result.seconds:.2f} s"
                f" (tick {result.tick_seconds:.2f} s, workers' CPU {result.cpu_seconds:.2f} s),"
                f" total {result.total_cents} cents, worker peak RSS {result.peak_rss_mb:.0f} MB",
                flush=True,
            )
            if workers == 1:
                one = result.seconds
            row = {
                "db": kind,
                "subs": size,
                "workers": workers,
                "seconds": result.seconds,
                "subs_per_s": size / result.seconds,
                "floor_s": floor,
                "ratio": result.seconds / floor,
                "scaling": (result.seconds / small_time)
                if (workers == 1 and small_time and size == sizes[-1])
                else None,
                "speedup": (one / result.seconds) if (workers == 2 and one) else None,
                "rss_mb": result.peak_rss_mb,
                "cpu_ms": result.cpu_seconds * 1000 / size,
                "usage_ms": None,
            }
            rows.append(row)
        if size == sizes[0]:
            small_time = one
        if size == sizes[-1]:
            url = dbs.copy(template, "usage")
            rows[-1]["usage_ms"] = current_usage_ms(url, data, usage_events)
            dbs.drop("usage")
        dbs.drop(template)
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--usage-events", type=int, default=100_000)
    parser.add_argument("--no-scaling", action="store_true", help="skip the N/10 run")
    parser.add_argument(
        "--small-reps", type=int, default=3, help="N/10 one-worker runs, the median kept (scaling)"
    )
    parser.add_argument(
        "--large-reps", type=int, default=1, help="N one-worker runs, the median kept (scaling)"
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("sqlite", "postgresql"):
            if (kind == "sqlite" and args.skip_sqlite) or (kind == "postgresql" and args.skip_pg):
                continue
            dbs = Databases(kind, args.pg_admin, Path(tmp))
            try:
                rows += measure(
                    kind,
                    dbs,
                    args.customers,
                    args.usage_events,
                    not args.no_scaling,
                    args.small_reps,
                    args.large_reps,
                )
            finally:
                dbs.drop_all()
    print()
    print(
        f"{'db':<11}{'subs':>7}{'workers':>8}{'run s':>9}{'subs/s':>9}{'floor s':>9}{'÷ floor':>9}"
        f"{'scaling':>9}{'speed-up':>9}{'usage ms':>10}{'RSS MB':>8}{'CPU ms/sub':>11}"
    )
    for r in rows:
        print(
            f"{r['db']:<11}{r['subs']:>7}{r['workers']:>8}{r['seconds']:>9.2f}{r['subs_per_s']:>9.1f}"
            f"{r['floor_s']:>9.2f}{r['ratio']:>9.1f}{_fmt(r['scaling'], '.1f'):>9}"
            f"{_fmt(r['speedup'], '.2f'):>9}"
            f"{_fmt(r['usage_ms'], '.0f'):>10}{r['rss_mb']:>8.0f}{r['cpu_ms']:>11.1f}"
        )
    print(
        "\nscaling = run time at N ÷ at N/10 (target ≤ 12); ÷ floor = run ÷ plain-SQL aggregate queries"
        " (target ≤ 2.5 on PostgreSQL, 1 worker); speed-up = 1 worker ÷ 2 workers (target ≥ 1.6);"
        " usage ms = current_usage with the big subscription (target ≤ 100); RSS = worker peak;"
        " CPU ms/sub = the worker processes' CPU time per subscription (steadier than wall time on a"
        " loaded machine)."
    )


if __name__ == "__main__":
    main()
