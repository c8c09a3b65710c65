"""Ingestion benchmark: ``POST /events/batch`` and ``POST /events`` against a real ``billow serve``.

Prints figures, not a test. For SQLite and for a fresh PostgreSQL database it:

1. starts ``billow serve --no-worker`` (one process) on a free port and creates a sum metric;
2. measures the raw rate of the same rows inserted straight into the same ``events`` table
   (``executemany`` 100 rows per transaction, ``ON CONFLICT DO NOTHING`` / ``INSERT OR IGNORE``;
   PostgreSQL with as many connections as there are clients, SQLite with its single writer),
   once before and once after the API runs (the mean is the baseline); likewise for single
   events, one row per durable commit (PostgreSQL: AUTOCOMMIT, as many connections as clients);
3. drives ``POST /events/batch`` (100 events/request) with N concurrent keep-alive clients, then
   ``POST /events`` (one event/request), each after a short warm-up;
4. prints a table with the ratios against the targets.

    .venv/bin/python bench/ingest.py [--seconds 10] [--clients 8] [--only sqlite|postgres]

The load generator is a minimal HTTP/1.1 client on asyncio streams (uvloop when present), so
that the client costs as little CPU as possible on a box it shares with the server and database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import psycopg

API_KEY = "bench-" + uuid.uuid4().hex
CODE = "api_calls"
BATCH = 100
SUBSCRIPTIONS = 1000
START_TS = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

TARGETS = {
    ("postgresql", "batch"): (20_000.0, 0.8),
    ("sqlite", "batch"): (None, 0.6),
    ("postgresql", "single"): (1_900.0, None),
    ("sqlite", "single"): (None, None),
}
P99_TARGET_SINGLE_MS = 50.0


# ---------------------------------------------------------------------------- load generation


def event(tag: str, n: int) -> dict[str, object]:
    return {
        "transaction_id": f"{tag}-{n}",
        "external_subscription_id": f"sub_{n % SUBSCRIPTIONS}",
        "code": CODE,
        "timestamp": START_TS + n % 2_678_400,
        "properties": {"tokens": n % 1000 + 1, "region": ("eu", "us", "ap")[n % 3]},
    }


class Conn:
    """One keep-alive HTTP/1.1 connection (just enough protocol for these requests)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {API_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw_head = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw_head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class LoadResult:
    events: int = 0
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000


async def drive(
    port: int, path: str, per_request: int, clients: int, warmup: float, seconds: float
) -> LoadResult:
    result = LoadResult()
    run_tag = uuid.uuid4().hex[:8]
    clock = time.perf_counter  # not loop.time(): uvloop's has millisecond resolution
    t_start = clock()
    t_measure = t_start + warmup
    t_end = t_measure + seconds

    async def client(index: int) -> None:
        conn = Conn("127.0.0.1", port)
        n = 0
        tag = f"{run_tag}-{index}"
        try:
            while True:
                now = clock()
                if now >= t_end:
                    return
                if per_request == 1:
                    body = orjson.dumps({"event": event(tag, n)})
                else:
                    body = orjson.dumps({"events": [event(tag, n + i) for i in range(per_request)]})
                n += per_request
                sent = clock()
                status, payload = await conn.request(path, body)
                done = clock()
                if sent >= t_measure and done <= t_end:
                    result.requests += 1
                    result.latencies.append(done - sent)
                    if status == 200:
                        result.events += per_request
                    else:
                        result.errors += 1
                        result.first_error = result.first_error or f"{status} {payload[:300]!r}"
                elif status != 200:
                    result.first_error = result.first_error or f"{status} {payload[:300]!r}"
        finally:
            conn.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    result.seconds = seconds
    return result


def run_load(
    port: int, path: str, per_request: int, clients: int, warmup: float, seconds: float
) -> LoadResult:
    try:
        import uvloop

        return uvloop.run(drive(port, path, per_request, clients, warmup, seconds))
    except ImportError:
        return asyncio.run(drive(port, path, per_request, clients, warmup, seconds))


# ---------------------------------------------------------------------------- raw baselines


def raw_rows(org_id: uuid.UUID, tag: str, start: int, count: int, now: datetime) -> list[tuple[object, ...]]:
    rows = []
    for n in range(start, start + count):
        e = event(tag, n)
        tokens = str(e["properties"]["tokens"])
        ts = datetime.fromtimestamp(e["timestamp"], UTC)
        rows.append(
            (
                uuid.uuid4(),
                org_id,
                e["external_subscription_id"],
                e["transaction_id"],
                e["code"],
                ts,
                orjson.dumps(e["properties"]).decode(),
                tokens,
                tokens,
                "tokens",
                now,
            )
        )
    return rows


PG_INSERT = (
    "INSERT INTO events (id, organization_id, external_subscription_id, transaction_id, code, timestamp,"
    " properties, value, value_text, value_field, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::numeric, %s, %s, %s)"
    " ON CONFLICT (organization_id, transaction_id, external_subscription_id) DO NOTHING"
)
SQLITE_INSERT = (
    "INSERT OR IGNORE INTO events (id, organization_id, external_subscription_id, transaction_id, code,"
    " timestamp, properties, value, value_text, value_field, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def raw_postgres(dsn: str, seconds: float, connections: int) -> float:
    """executemany of 100 rows per transaction; ``connections`` threads in parallel."""
    counts = [0] * connections
    deadline = time.monotonic() + seconds
    now = datetime.now(UTC)

    def worker(i: int) -> None:
        org = uuid.uuid4()
        tag = f"raw-{uuid.uuid4().hex[:8]}"
        n = 0
        with psycopg.connect(dsn) as conn:
            while time.monotonic() < deadline:
                rows = raw_rows(org, tag, n, BATCH, now)
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(PG_INSERT, rows)
                n += BATCH
                counts[i] += BATCH

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


def raw_postgres_single(dsn: str, seconds: float, connections: int) -> float:
    """One row per statement in AUTOCOMMIT (a durable commit each); ``connections`` threads."""
    counts = [0] * connections
    deadline = time.monotonic() + seconds
    now = datetime.now(UTC)

    def worker(i: int) -> None:
        org = uuid.uuid4()
        tag = f"raw1-{uuid.uuid4().hex[:8]}"
        n = 0
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.monotonic() < deadline:
                conn.execute(PG_INSERT, raw_rows(org, tag, n, 1, now)[0])
                n += 1
        counts[i] = n

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


def raw_sqlite(path: str, seconds: float, per_transaction: int = BATCH) -> float:
    """One writer (SQLite's rule), same pragmas as the server, ``per_transaction`` rows per transaction."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    org = uuid.uuid4().hex
    tag = f"raw-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    n = 0
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        rows = [
            (
                r[0].hex,
                org,
                r[2],
                r[3],
                r[4],
                r[5].replace(tzinfo=None).isoformat(sep=" "),
                *r[6:10],
                now.isoformat(),
            )
            for r in raw_rows(uuid.uuid4(), tag, n, per_transaction, now)
        ]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(SQLITE_INSERT, rows)
        conn.execute("COMMIT")
        n += per_transaction
    elapsed = time.monotonic() - started
    conn.close()
    return n / elapsed


# ---------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(database_url: str) -> Iterator[int]:
    port = free_port()
    billow = shutil.which("billow", path=str(Path(sys.executable).parent)) or "billow"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BILLOW_ORG_API_KEY": API_KEY,
        "BILLOW_LOG_LEVEL": "WARNING",
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115  (never a pipe: a full one would stall the server)
    proc = subprocess.Popen(
        [billow, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/billable_metrics",
            headers={"Authorization": f"Bearer {API_KEY}"},
            json={
                "billable_metric": {
                    "name": "API calls",
                    "code": CODE,
                    "aggregation_type": "sum_agg",
                    "field_name": "tokens",
                }
            },
        )
        r.raise_for_status()
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def postgres_database(base_url: str) -> Iterator[tuple[str, str]]:
    """A fresh database: (SQLAlchemy URL, libpq DSN)."""
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"billow_bench_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        target = url.set(database=name)
        yield (
            target.render_as_string(hide_password=False),
            target.set(drivername="postgresql").render_as_string(hide_password=False),
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------------------- report


@dataclass
class Row:
    backend: str
    workload: str
    result: LoadResult
    raw: float | None


def bench_backend(
    backend: str,
    database_url: str,
    raw: Callable[[], float],
    raw_single: Callable[[], float],
    args: argparse.Namespace,
) -> list[Row]:
    with serve(database_url) as port:
        raw_before = raw()
        batch = run_load(port, "/api/v1/events/batch", BATCH, args.clients, args.warmup, args.seconds)
        raw_after = raw()
        single_before = raw_single()
        single = run_load(port, "/api/v1/events", 1, args.single_clients, args.warmup, args.seconds)
        single_after = raw_single()
    base = (raw_before + raw_after) / 2
    single_base = (single_before + single_after) / 2
    print(f"  {backend}: raw executemany {raw_before:,.0f} / {raw_after:,.0f} rows/s (before / after)")
    print(
        f"  {backend}: raw single-row commits {single_before:,.0f} / {single_after:,.0f} rows/s"
        " (before / after)"
    )
    for name, res in (("batch", batch), ("single", single)):
        if res.first_error:
            print(f"  {backend} {name}: {res.errors} errors, first: {res.first_error}")
    return [Row(backend, "batch", batch, base), Row(backend, "single", single, single_base)]


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print()
    header = (
        f"{'backend':<11}{'workload':<22}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'raw/s':>9}"
        f"{'ratio':>7}  target"
    )
    print(header)
    print("-" * (len(header) + 30))
    for row in rows:
        res = row.result
        label = (
            f"batch x{BATCH}, {args.clients} cl"
            if row.workload == "batch"
            else f"single, {args.single_clients} cl"
        )
        ratio = res.rate / row.raw if row.raw else None
        floor, min_ratio = TARGETS[(row.backend, row.workload)]
        checks = []
        if floor is not None:
            checks.append(f">= {floor:,.0f}/s {'OK' if res.rate >= floor else 'MISS'}")
        if min_ratio is not None and ratio is not None:
            checks.append(f">= {min_ratio}x raw {'OK' if ratio >= min_ratio else 'MISS'}")
        if row.backend == "postgresql" and row.workload == "single":
            ok = res.pct(0.99) <= P99_TARGET_SINGLE_MS
            checks.append(f"p99 <= {P99_TARGET_SINGLE_MS:.0f} ms {'OK' if ok else 'MISS'}")
        print(
            f"{row.backend:<11}{label:<22}{res.rate:>10,.0f}{res.pct(0.5):>9.1f}{res.pct(0.99):>9.1f}"
            f"{(f'{row.raw:,.0f}' if row.raw else '-'):>9}{(f'{ratio:.2f}' if ratio else '-'):>7}  "
            + ("; ".join(checks) or "(reported)")
            + (f"  [{res.errors} errors]" if res.errors else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--single-clients", type=int, default=8)
    parser.add_argument(
        "--raw-connections",
        type=int,
        default=0,
        help="PostgreSQL raw baseline connections (default: as many as --clients)",
    )
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--pg-url", default=os.environ.get("BILLOW_BENCH_PG_URL", DEFAULT_PG))
    args = parser.parse_args()
    args.raw_connections = args.raw_connections or args.clients

    rows: list[Row] = []
    print(
        f"ingest bench: {args.seconds:.0f} s timed after {args.warmup:.0f} s warm-up, {os.cpu_count()} CPUs"
    )
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/bench.db"
            rows += bench_backend(
                "sqlite",
                f"sqlite:///{path}",
                lambda: raw_sqlite(path, args.seconds),
                lambda: raw_sqlite(path, args.seconds / 2, 1),
                args,
            )
    if args.only in (None, "postgres"):
        with postgres_database(args.pg_url) as (url, dsn):
            rows += bench_backend(
                "postgresql",
                url,
                lambda: raw_postgres(dsn, args.seconds, args.raw_connections),
                lambda: raw_postgres_single(dsn, args.seconds / 2, args.single_clients),
                args,
            )
            one = raw_postgres(dsn, args.seconds / 2, 1)
            print(f"  postgresql: raw executemany on 1 connection {one:,.0f} rows/s (for reference)")
    print_table(rows, args)
    print(
        f"\nraw (batch rows) = executemany of the same rows, {BATCH} per transaction, ON CONFLICT DO NOTHING"
        f" (PostgreSQL: {args.raw_connections} connection(s); SQLite: 1 writer); raw (single rows) = one"
        f" row per durable commit (PostgreSQL: {args.single_clients} AUTOCOMMIT connections; SQLite: 1"
        " writer); each the mean of a run before and after its API run."
    )


if __name__ == "__main__":
    main()
