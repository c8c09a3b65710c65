"""Shared fixtures: a migrated database per pytest worker, a runtime with a manual clock, an API client.

Each test gets a fresh runtime (settings, clock, hooks, job registry, scheduler, worker) on an
emptied database. What is costly and the same for every test is built once per worker: the
database engine (and its pooled connections), the checked signing key, and the FastAPI app,
whose routes take longer to build than most tests take to run (``app_client`` points it at the
test's runtime)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from billow.api.app import create_app
from billow.api.deps import ApiKeyCache
from billow.core.clock import ManualClock
from billow.db.context import Ctx
from billow.db.engine import Database
from billow.metering.events.api import STATE_KEY as METERING_STATE_KEY
from billow.metering.events.state import MeteringState
from billow.runtime import Runtime, build_runtime
from billow.settings import Settings
from billow.webhooks.signing import generate_private_key_pem
from tests.support.api import Api, Org, make_org
from tests.support.db import create_test_database, drop_test_database, is_postgres_run, migrate, wipe

START = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if is_postgres_run():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set BILLOW_TEST_DATABASE_URL); CI runs it")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def worker_name(request: pytest.FixtureRequest) -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory, worker_name: str) -> Iterator[str]:
    url = create_test_database(tmp_path_factory.mktemp("db"), worker_name)
    migrate(url)
    yield url
    drop_test_database(url)


@pytest.fixture(scope="session")
def worker_db(db_url: str) -> Iterator[Database]:
    """The worker's engine, shared by the tests' runtimes (``runtime`` does not dispose it)."""
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    return generate_private_key_pem().decode("ascii")


@pytest.fixture
def settings(db_url: str, rsa_pem: str) -> Settings:
    return Settings(
        database_url=db_url,
        clock="manual",
        clock_start=START,
        rsa_private_key=rsa_pem,
        api_url="http://billow.test",
        worker_poll_seconds=0.05,
        webhook_timeout_seconds=5,
    )


@pytest.fixture
def runtime(settings: Settings, worker_db: Database, rsa_pem: str) -> Iterator[Runtime]:
    # ``rsa_pem`` is the configured key (``settings``): generated here, so already valid.
    rt = build_runtime(settings, migrate=False, db=worker_db, private_key_pem=rsa_pem.encode("ascii"))
    wipe(rt.db)
    clock = rt.manual_clock
    assert clock is not None
    rt.clock = ManualClock(START)
    rt.scheduler.clock = rt.clock
    rt.worker.clock = rt.clock
    yield rt
    # Nothing to close: the engine is the worker's (``worker_db``), disposed after the last test.


@pytest.fixture
def org(runtime: Runtime) -> Org:
    return make_org(runtime)


@pytest.fixture
def other_org(runtime: Runtime) -> Org:
    return make_org(runtime, "Globex")


@pytest.fixture(scope="session")
def _apps() -> dict[str, FastAPI]:
    """The worker's apps, by the settings they were built with (in practice one)."""
    return {}


APP_STATE = {"runtime", "api_key_cache"}  # what ``create_app`` keeps on ``app.state``


def _app_for(runtime: Runtime, apps: dict[str, FastAPI]) -> FastAPI:
    """``create_app(runtime)``, reusing the app built for equal settings (``create_app`` reads
    them once, e.g. the body size limit): the runtime and an empty API-key cache swapped in."""
    key = runtime.settings.model_dump_json()
    app = apps.get(key)
    if app is None:
        app = apps[key] = create_app(runtime)
    else:
        # Anything else kept on the app would leak from test to test: fail instead.
        assert set(app.state._state) == APP_STATE, "new state on the app: reset it in app_client"
        app.state.runtime = runtime
        app.state.api_key_cache = ApiKeyCache()
    return app


@pytest.fixture
def app_client(runtime: Runtime, _apps: dict[str, FastAPI]) -> Iterator[TestClient]:
    app = _app_for(runtime, _apps)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        # Ingestion's state (created on the first event request) holds the test's clock and
        # settings, threads and connections: the next test gets its own.
        metering: MeteringState | None = app.state._state.pop(METERING_STATE_KEY, None)
        if metering is not None:
            metering.close()


@pytest.fixture
def api(app_client: TestClient, org: Org) -> Api:
    return Api(app_client, org.api_key)


@pytest.fixture
def other_api(app_client: TestClient, other_org: Org) -> Api:
    return Api(app_client, other_org.api_key)


@pytest.fixture
def ctx(runtime: Runtime, org: Org) -> Iterator[Ctx]:
    with runtime.db.session() as session:
        yield Ctx(
            session=session,
            clock=runtime.clock,
            settings=runtime.settings,
            organization_id=org.id,
            hooks=runtime.hooks,
        )
