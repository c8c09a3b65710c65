"""Shared fixtures: a migrated database per pytest worker, a runtime with a manual clock, an API client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support.db import create_test_database, drop_test_database, is_postgres_run, migrate, wipe

from billow.api.app import create_app
from billow.core.clock import ManualClock
from billow.db.context import Ctx
from billow.organizations.service import create_organization
from billow.runtime import Runtime, build_runtime
from billow.settings import Settings
from billow.webhooks.signing import generate_private_key_pem

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


@dataclass
class Org:
    id: Any
    api_key: str
    hmac_key: str


def make_org(runtime: Runtime, name: str = "Acme") -> Org:
    with runtime.db.session() as session:
        created = create_organization(session, name=name, now=runtime.clock.now())
        return Org(created.organization.id, created.api_key, created.organization.hmac_key)


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


class Api:
    """A thin authenticated client: ``api.post("/customers", {...})`` → httpx.Response."""

    def __init__(self, client: TestClient, api_key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def _url(self, path: str) -> str:
        return "/api/v1" + path

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(self._url(path), headers=self.headers, params=params or None)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(self._url(path), headers=self.headers, json=body, **kw)

    def put(self, path: str, body: Any = None) -> Any:
        return self.client.put(self._url(path), headers=self.headers, json=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.client.delete(self._url(path), headers=self.headers, params=params or None)

    def raw(self, method: str, path: str, content: bytes, headers: dict[str, str] | None = None) -> Any:
        return self.client.request(
            method, self._url(path), content=content, headers={**self.headers, **(headers or {})}
        )


@pytest.fixture
def api(app_client: TestClient, org: Org) -> Api:
    return Api(app_client, org.api_key)


@pytest.fixture
def other_api(app_client: TestClient, other_org: Org) -> Api:
    return Api(app_client, other_org.api_key)


@pytest.fixture
def ctx(runtime: Runtime, org: Org) -> Iterator[Ctx]:
    with runtime.db.session() as session:
        yield Ctx(session=session, clock=runtime.clock, settings=runtime.settings, organization_id=org.id)
