"""Compatibility suite: Lago's own Python client against a real ``billow serve`` over HTTP.

One live server (and one fresh database) per test session and pytest-xdist worker; each test
module gets its own organization on it, so modules never see each other's customers, metrics,
endpoints or counts. ``test_webhooks`` overrides ``org`` to use the bootstrap organization, whose
HMAC key is ``BILLOW_ORG_HMAC_KEY``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import httpx
import pytest
from lago_python_client.client import Client

from tests.support.live_server import LiveServer, OrgCredentials, start_live_server, stop_live_server
from tests.support.webhook_receiver import WebhookReceiver

LOG_TAIL_CHARS = 8000
_running: dict[str, LiveServer] = {}  # for failure reports


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure, show the tail of the live server's log beside the traceback."""
    report = yield
    live = _running.get("server")
    if report.failed and live is not None:
        report.sections.append(("billow serve log (tail)", live.logs()[-LOG_TAIL_CHARS:]))
    return report


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path_factory.mktemp("live"), "compat")
    _running["server"] = live
    try:
        yield live
    finally:
        _running.pop("server", None)
        stop_live_server(live)


@pytest.fixture(scope="module")
def org(request: pytest.FixtureRequest, server: LiveServer) -> OrgCredentials:
    """A fresh organization for this test module."""
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return server.create_org(f"Compat {label}")


@pytest.fixture(scope="module")
def client(server: LiveServer, org: OrgCredentials) -> Client:
    """The real ``lago_python_client`` pointed at the live server, as this module's organization."""
    return Client(api_key=org.api_key, api_url=server.api_url)


@pytest.fixture(scope="module")
def http(server: LiveServer, org: OrgCredentials) -> Iterator[httpx.Client]:
    """Raw HTTP on ``/api/v1`` with the API key, to check bodies against the OpenAPI document."""
    headers = {"Authorization": f"Bearer {org.api_key}"}
    with httpx.Client(base_url=server.api_v1, headers=headers, timeout=10.0) as c:
        yield c


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r
