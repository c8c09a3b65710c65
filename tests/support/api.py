"""Test helpers: an organization factory and a thin authenticated API client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from billow.organizations.service import create_organization
from billow.runtime import Runtime


@dataclass
class Org:
    id: Any
    api_key: str
    hmac_key: str


def make_org(runtime: Runtime, name: str = "Acme") -> Org:
    with runtime.db.session() as session:
        created = create_organization(session, name=name, now=runtime.clock.now())
        return Org(created.organization.id, created.api_key, created.organization.hmac_key)


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
