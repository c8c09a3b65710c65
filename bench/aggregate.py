"""Aggregation benchmark (prints a table; not a test).

Data: one subscription with N events (default 1,000,000) in January 2025, interleaved in time
with N noise events of 1,000 other subscriptions, generated inside the database (SQLite recursive
CTE, PostgreSQL ``generate_series``) in the exact stored form ingestion writes (typed value,
``value_scaled`` and ``timestamp_us`` on SQLite). Properties: ``tokens`` (1–1000), ``region``
(8 values), ``tier`` (4 values), ``user_id`` (10,000 values). Unique counts run over their own
code (``api_users``, as many events, stored for a metric on ``user_id``: ``value_text`` holds
the id).

For every aggregation type it times ``aggregate`` without filters and with 3 filters on
``region`` + 1 group key (``tier``), beside the bare SQL a person would write over the same rows
(SUM/COUNT/MAX over the stored value, COUNT DISTINCT over the stored text; grouped by
``region, tier`` for the filtered case). Then a typical subscription: 5 charges × 1,000 events,
p50 of the 5 aggregations together.

    .venv/bin/python bench/aggregate.py [--events 1000000] [--skip-pg] [--skip-sqlite]
        [--types latest_agg,unique_count_agg] [--reps 5] [--typical-reps 21 (0: skip)]

PostgreSQL: a fresh database ``billow_bench_aggregate`` is created on ``--pg-admin`` and dropped
at the end. Medians of ``--reps`` timed runs after one untimed run (typical: 21 runs), the engine's
and the bare query's runs alternating.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from billow.db.engine import Database
from billow.db.migrate import upgrade
from billow.metering.aggregation import (
    AggregationOptions,
    AggregationRequest,
    FilterSpec,
    MetricSpec,
    WeightedSumOptions,
)
from billow.metering.store.aggregate_cache import StatementCache
from billow.metering.store.aggregate_sql import aggregate

ORG = uuid.UUID(int=1)
SUB = "sub_target"
F = datetime(2025, 1, 1, tzinfo=UTC)
T = datetime(2025, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
REGIONS = ["eu", "us", "asia", "af", "sa", "oc", "an", "me"]
TIERS = ["free", "pro", "team", "enterprise"]
MONTH_US = 31 * 86_400 * 1_000_000
DECLARED = {"region": REGIONS}
FILTERS = (
    FilterSpec("f1", {"region": ["eu", "us"]}),
    FilterSpec("f2", {"region": ["asia"]}),
    FilterSpec("f3", {"region": ["af", "sa"]}),
)
TYPICAL = ["count_agg", "sum_agg", "max_agg", "unique_count_agg", "sum_agg"]  # the 5 charges
TYPES = ["count_agg", "sum_agg", "max_agg", "latest_agg", "unique_count_agg", "weighted_sum_agg"]


def spec(kind: str, code: str) -> MetricSpec:
    field = None if kind == "count_agg" else ("user_id" if kind == "unique_count_agg" else "tokens")
    return MetricSpec(code=code, aggregation_type=kind, field_name=field, filters=DECLARED)


def request(kind: str, filtered: bool, sub: str = SUB, code: str | None = None) -> AggregationRequest:
    code = code or code_of(kind)
    options = AggregationOptions(weighted=WeightedSumOptions(31) if kind == "weighted_sum_agg" else None)
    return AggregationRequest(
        organization_id=ORG,
        external_subscription_id=sub,
        metric=spec(kind, code),
        from_datetime=F,
        to_datetime=T,
        filters=FILTERS if filtered else (),
        group_keys=("tier",) if filtered else (),
        options=options,
    )


# -- data ----------------------------------------------------------------------------------------

SQLITE_FILL = """
WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < :n2 - 1),
e AS (
  SELECT x, (x * :step) AS us, ((x * 7919) % 1000) + 1 AS tokens, 'u_' || ((x * 104729) % 10000) AS uid,
         {sub_expr} AS sub
  FROM g
)
INSERT INTO events (id, organization_id, external_subscription_id, transaction_id, code, timestamp,
                    properties, value, value_text, value_field, created_at, value_scaled,
                    timestamp_us)
SELECT lower(hex(randomblob(16))), :org, sub, '{code}_' || x, '{code}',
       strftime('%Y-%m-%d %H:%M:%S', '2025-01-01', '+' || (us / 1000000) || ' seconds')
         || '.' || printf('%06d', us % 1000000),
       json_object('tokens', tokens, 'region', :regions ->> ('$[' || (x % 8) || ']'),
                   'tier', :tiers ->> ('$[' || ((x / 8) % 4) || ']'), 'user_id', uid),
       {value_columns},
       strftime('%Y-%m-%d %H:%M:%S', '2025-01-01', '+' || (us / 1000000) || ' seconds')
         || '.' || printf('%06d', us % 1000000),
       {scaled_column}, 1735689600000000 + us
FROM e
"""

PG_FILL = """
INSERT INTO events (id, organization_id, external_subscription_id, transaction_id, code, timestamp,
                    properties, value, value_text, value_field, created_at)
SELECT gen_random_uuid(), :org, {sub_expr},
       '{code}_' || x, '{code}', ts,
       jsonb_build_object('tokens', tokens, 'region', (CAST(:regions AS text[]))[x % 8 + 1],
                          'tier', (CAST(:tiers AS text[]))[(x / 8) % 4 + 1], 'user_id', uid),
       {value_columns}, ts
FROM (SELECT x, (x * 7919) % 1000 + 1 AS tokens, 'u_' || (x * 104729) % 10000 AS uid,
             timestamptz '2025-01-01 00:00:00+00' + (x * :step) * interval '1 microsecond' AS ts
      FROM generate_series(0::bigint, :n2 - 1) AS x) AS g
"""

# The typed columns ingestion writes for the metric of each code: its field's value
# (``value``/``value_text``/``value_field``, SQLite ``value_scaled``).
VALUE_COLUMNS = {
    "tokens": ("tokens, CAST(tokens AS TEXT), 'tokens'", "tokens * 1000000"),
    "user_id": ("NULL, uid, 'user_id'", "NULL"),
}
USERS = "api_users"  # unique_count_agg's code: events whose metric field is user_id


def code_of(kind: str) -> str:
    return USERS if kind == "unique_count_agg" else "api_calls"


INDEXES = [
    "DROP INDEX ix_events_org_subscription_code_timestamp",
    "DROP INDEX uq_events_org_transaction_subscription",
]
CREATE_INDEXES = [
    "CREATE INDEX ix_events_org_subscription_code_timestamp"
    " ON events (organization_id, external_subscription_id, code, timestamp)",
    "CREATE UNIQUE INDEX uq_events_org_transaction_subscription"
    " ON events (organization_id, transaction_id, external_subscription_id)",
]


INTERLEAVED = "CASE WHEN x % 2 = 0 THEN :sub ELSE 'sub_' || (x % 1000) END"


def _insert(conn: Any, pg: bool, n: int, sub_expr: str, code: str, sub: str, field: str = "tokens") -> None:
    values, scaled = VALUE_COLUMNS[field]
    if not pg:
        values = values.replace("tokens, CAST", "CAST(tokens AS TEXT), CAST")
    sql = (PG_FILL if pg else SQLITE_FILL).format(
        sub_expr=sub_expr, code=code, value_columns=values, scaled_column=scaled
    )
    params: dict[str, Any] = {"n2": n, "step": MONTH_US // n, "sub": sub, "org": ORG if pg else ORG.hex}
    if pg:
        params.update(regions=REGIONS, tiers=TIERS)
    else:
        params.update(regions=json.dumps(REGIONS), tiers=json.dumps(TIERS))
    conn.execute(text(sql), params)


def fill(db: Database, n: int, types: list[str]) -> float:
    """2n events (n target, n noise interleaved in time) + 5 × 1,000 typical ones, and as many
    again under ``api_users`` when unique counts are measured; seconds."""
    started = time.perf_counter()
    pg = db.is_postgres
    with db.engine.begin() as conn:
        for stmt in INDEXES:
            conn.execute(text(stmt))
        _insert(conn, pg, 2 * n, INTERLEAVED, "api_calls", SUB)
        if "unique_count_agg" in types:
            _insert(conn, pg, 2 * n, INTERLEAVED, USERS, SUB, "user_id")
        for i, kind in enumerate(TYPICAL):  # the typical subscription: 5 codes × 1,000 events
            field = "user_id" if kind == "unique_count_agg" else "tokens"
            _insert(conn, pg, 1000, ":sub", f"typical_{i}", "sub_typical", field)
        for stmt in CREATE_INDEXES:
            conn.execute(text(stmt))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE events" if pg else "ANALYZE"))
    return time.perf_counter() - started


# -- bare SQL ------------------------------------------------------------------------------------


def bare_sql(kind: str, filtered: bool, pg: bool, sub: str = SUB, code: str | None = None) -> list[str]:
    code = code or code_of(kind)
    org = f"'{ORG}'" if pg else f"'{ORG.hex}'"
    where = (
        f"organization_id = {org} AND external_subscription_id = '{sub}' AND code = '{code}'"
        " AND deleted_at IS NULL AND timestamp >= '2025-01-01' AND timestamp <= '2025-01-31 23:59:59.999999'"
    )

    def prop(key: str) -> str:
        return f"properties ->> '{key}'" if pg else f"properties ->> '$.{key}'"

    value = "value" if pg else "CAST(value AS REAL)"
    group = f"{prop('region')}, {prop('tier')}" if filtered else ""
    head = f"{group}, " if filtered else ""
    tail = f" GROUP BY {group}" if filtered else ""
    end = "timestamptz '2025-02-01 00:00:00+00'" if pg else "'2025-02-01 00:00:00'"
    exprs = {
        "count_agg": "COUNT(*)",
        "sum_agg": f"SUM({value}), COUNT(*)",
        "max_agg": f"MAX({value}), COUNT(*)",
        # the stored text of the metric's field, as SUM reads the stored value
        "unique_count_agg": "COUNT(DISTINCT value_text)",
        # COUNT(value): events_count of a latest value counts numeric events only (COUNT(*) would
        # be an index-only scan that answers a different question).
        "latest_agg": "COUNT(value), MAX(timestamp)",
        "weighted_sum_agg": (
            f"SUM(value * EXTRACT(EPOCH FROM ({end} - timestamp))), COUNT(*)"
            if pg
            else f"SUM({value} * (unixepoch({end}) - unixepoch(timestamp))), COUNT(*)"
        ),
    }
    queries = [f"SELECT {head}{exprs[kind]} FROM events WHERE {where}{tail}"]
    if kind == "latest_agg" and not filtered:
        queries.append(
            f"SELECT value FROM events WHERE {where} ORDER BY timestamp DESC, created_at DESC LIMIT 1"
        )
    return queries


# -- timing --------------------------------------------------------------------------------------


def paired_median_ms(engine: Callable[[], Any], bare: Callable[[], Any], reps: int) -> tuple[float, float]:
    """Medians of ``reps`` timed runs of each after one untimed run of each, the two alternating
    (engine, bare, engine, bare, …) so that a drift of the machine's speed during the run weighs
    on both sides of the ratio alike."""
    engine()
    bare()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(reps):
        for fn, sink in ((engine, times[0]), (bare, times[1])):
            started = time.perf_counter()
            fn()
            sink.append(time.perf_counter() - started)
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


STATEMENTS = StatementCache()  # as the event store keeps it: statements built once per charge shape


def run_engine(db: Database, req: AggregationRequest) -> Any:
    with db.session() as session:
        return aggregate(session, req, statements=STATEMENTS)


def run_bare(db: Database, queries: list[str]) -> None:
    with db.engine.connect() as conn:
        for q in queries:
            conn.execute(text(q)).all()


def bench(
    db: Database, name: str, reps: int, typical_reps: int, types: list[str]
) -> list[tuple[str, str, float, float]]:
    rows: list[tuple[str, str, float, float]] = []
    for kind in types:
        for filtered in (False, True):
            label = "3 filters + 1 group" if filtered else "plain"
            queries = bare_sql(kind, filtered, db.is_postgres)
            engine_ms, bare_ms = paired_median_ms(
                lambda k=kind, f=filtered: run_engine(db, request(k, f)),
                lambda q=queries: run_bare(db, q),
                reps,
            )
            rows.append((kind, label, engine_ms, bare_ms))
            _line(name, kind, label, engine_ms, bare_ms)
    kinds = TYPICAL
    typical = [request(k, i == 4, sub="sub_typical", code=f"typical_{i}") for i, k in enumerate(kinds)]

    def engine_typical() -> None:
        with db.session() as session:
            for req in typical:
                aggregate(session, req, statements=STATEMENTS)

    def bare_typical() -> None:
        with db.engine.connect() as conn:
            for i, k in enumerate(kinds):
                for q in bare_sql(k, i == 4, db.is_postgres, sub="sub_typical", code=f"typical_{i}"):
                    conn.execute(text(q)).all()

    if typical_reps <= 0:
        return rows
    engine_ms, bare_ms = paired_median_ms(engine_typical, bare_typical, typical_reps)
    rows.append(("typical (5 charges)", "p50, 1,000 ev/charge", engine_ms, bare_ms))
    _line(name, "typical (5 charges)", "p50, 1,000 ev/charge", engine_ms, bare_ms)
    return rows


def _line(database: str, kind: str, shape: str, engine_ms: float, bare_ms: float) -> None:
    ratio = engine_ms / bare_ms if bare_ms else float("nan")
    print(
        f"  {database:10s} {kind:19s} {shape:21s} {engine_ms:9.2f} {bare_ms:9.2f} {ratio:6.2f}x", flush=True
    )


def _markdown(results: dict[str, list[tuple[str, str, float, float]]]) -> None:
    print("\n| database | aggregation | shape | engine ms | bare SQL ms | ratio |")
    print("|---|---|---|---:|---:|---:|")
    for database, rows in results.items():
        for kind, shape, engine_ms, bare_ms in rows:
            ratio = engine_ms / bare_ms
            print(f"| {database} | {kind} | {shape} | {engine_ms:.1f} | {bare_ms:.1f} | {ratio:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--typical-reps", type=int, default=21)
    parser.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--types", default=",".join(TYPES), help="comma-separated aggregation types")
    args = parser.parse_args()
    types = [t for t in args.types.split(",") if t]
    results: dict[str, list[tuple[str, str, float, float]]] = {}
    print(f"{args.events:,} target events + {args.events:,} noise events; medians in ms")
    print(
        f"  {'database':10s} {'aggregation':19s} {'shape':21s} {'engine':>9s} {'bare SQL':>9s} {'ratio':>7s}"
    )
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            db = Database(url)
            print(f"  (SQLite fill: {fill(db, args.events, types):.0f} s)")
            results["SQLite"] = bench(db, "SQLite", args.reps, args.typical_reps, types)
            db.dispose()
    if not args.skip_pg:
        admin_url = make_url(args.pg_admin)
        name = "billow_bench_aggregate"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = admin_url.set(database=name).render_as_string(hide_password=False)
            upgrade(url)
            db = Database(url)
            print(f"  (PostgreSQL fill: {fill(db, args.events, types):.0f} s)")
            results["PostgreSQL"] = bench(db, "PostgreSQL", args.reps, args.typical_reps, types)
            db.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    _markdown(results)


if __name__ == "__main__":
    main()
