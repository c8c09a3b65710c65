"""Statements built once per charge shape and reused (every request value is a bind parameter)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from billow.metering.aggregation.types import AggregationRequest


class StatementCache:
    """Built statements by charge shape (bounded, least recently used out).

    A statement depends only on the shape of a request (metric, filters, group keys, options
    used); every per-request value is a bind parameter. Owned by an event store instance.
    """

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        built = build()
        with self._lock:
            self._items[key] = built
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return built


def _values(values: Mapping[str, Sequence[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((k, tuple(v)) for k, v in values.items())


def request_shape(request: AggregationRequest) -> tuple[Any, ...]:
    """Everything of a request that shapes its SQL (not organization, subscription or window)."""
    m = request.metric
    o = request.options
    weighted = o.weighted
    return (
        (m.code, m.aggregation_type, m.field_name, m.recurring, _values(m.filters)),
        tuple((f.id, _values(f.values), tuple(f.group_keys)) for f in request.filters),
        tuple(request.group_keys),
        (
            o.event_values,
            o.precise_total_amount,
            o.proration is not None,
            weighted is not None and weighted.initial_levels is None and weighted.initial_from_events,
            o.high_water,
            o.upto is not None,
        ),
    )
