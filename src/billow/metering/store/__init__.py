"""Usage-event storage behind one Protocol (SQL today; ClickHouse is the scale-out path)."""

from billow.metering.store.base import EventFilters, EventRecord, EventStore
from billow.metering.store.sql import SqlEventStore

__all__ = ["EventFilters", "EventRecord", "EventStore", "SqlEventStore"]
