"""MetricCache: one load per code, TTL, invalidation, and no stale store after a racing invalidation."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from billow.metering.lookup import IngestMetric, MetricCache

ORG = uuid.uuid4()


class Loader:
    def __init__(self):
        self.calls = []
        self.metrics = {"a": IngestMetric("a", "gb", None)}
        self.hook = None

    def __call__(self, ctx, codes):
        self.calls.append(sorted(codes))
        if self.hook:
            self.hook()
        return {c: self.metrics[c] for c in codes if c in self.metrics}


CTX = SimpleNamespace(org_id=ORG)


def test_loads_missing_codes_once_including_unknown_ones():
    loader = Loader()
    cache = MetricCache(loader=loader)
    assert cache(CTX, ["a", "b"]) == {"a": loader.metrics["a"]}
    assert cache(CTX, ["a", "b"]) == {"a": loader.metrics["a"]}
    assert cache(CTX, ["a", "c"]) == {"a": loader.metrics["a"]}
    assert loader.calls == [["a", "b"], ["c"]]


def test_invalidation_and_ttl():
    loader = Loader()
    cache = MetricCache(loader=loader)
    cache(CTX, ["b"])
    loader.metrics["b"] = IngestMetric("b", None, None)
    assert cache(CTX, ["b"]) == {}
    cache.invalidate(ORG)
    assert cache(CTX, ["b"]) == {"b": loader.metrics["b"]}
    expired = MetricCache(ttl_seconds=-1, loader=loader)
    expired(CTX, ["a"])
    expired(CTX, ["a"])
    assert loader.calls[-2:] == [["a"], ["a"]]


def test_a_load_racing_an_invalidation_is_not_kept():
    loader = Loader()
    cache = MetricCache(loader=loader)
    loader.hook = lambda: cache.invalidate(ORG)
    cache(CTX, ["a"])
    loader.hook = None
    cache(CTX, ["a"])
    assert loader.calls == [["a"], ["a"]]


def test_requests_missing_together_share_one_load():
    loader = Loader()
    loader.hook = lambda: time.sleep(0.05)
    cache = MetricCache(loader=loader)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: cache(CTX, ["a"]), range(8)))
    assert loader.calls == [["a"]]
    assert all(r == {"a": loader.metrics["a"]} for r in results)
