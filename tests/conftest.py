"""Shared fixtures: a migrated database per pytest worker, a runtime with a manual clock, an API client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from billow.api.app import create_app
from billow.core.clock import ManualClock
from billow.db.context import Ctx
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
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings, migrate=False)
    wipe(rt.db)
    clock = rt.manual_clock
    assert clock is not None
    rt.clock = ManualClock(START)
    rt.scheduler.clock = rt.clock
    rt.worker.clock = rt.clock
    yield rt
    rt.close()


@pytest.fixture
def org(runtime: Runtime) -> Org:
    return make_org(runtime)


@pytest.fixture
def other_org(runtime: Runtime) -> Org:
    return make_org(runtime, "Globex")


@pytest.fixture
def app_client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client


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
