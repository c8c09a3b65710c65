"""Charge filters → buckets (metering.md §3.4), planned once per request, evaluated by SQL.

Every filter is a bucket, plus the default bucket (``filter_id=None``). For a filter F:

* **match**: for every key of F, ``text(properties[key])`` is among F's values
  (``__ALL_FILTER_VALUES__`` expanded to the metric's declared values; keys the metric does not
  declare are dropped — a filter left without keys matches nothing);
* **exclusions** (Lago's "ignored filters"): every other filter G that has each of F's keys with
  at least one common value is a *child* of F. A child is excluded verbatim, except when it has
  exactly F's keys: identical values → only an *older* G excludes (the older filter keeps the
  events); values not a subset of F's → only G's extra values are excluded (keys where F says
  ``__ALL_FILTER_VALUES__`` keep G's values; keys left empty impose nothing). An exclusion
  compares ``coalesce(text, '')``, a match compares ``text`` (as Lago's SQL does).
* the **default bucket** excludes every filter (it holds the events that match none).

Net effect: an event counts once, in its most specific bucket, except that overlapping
same-key filters that are not subsets (and filters on disjoint keys) count it in both.

When no event can be in two buckets (checked pairwise, below) the SQL assigns one bucket per
event with a first-match ``CASE`` in specificity order; otherwise it computes a bitmask of every
bucket's literal predicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from billow.metering.aggregation.types import ALL_FILTER_VALUES, FilterId, FilterSpec, MetricSpec
from billow.metering.events.parsing import property_text

MAX_BUCKETS_PER_MASK = 62
"""Buckets per bitmask (signed 64-bit integers); more buckets run in several queries."""


@dataclass(frozen=True, slots=True)
class Condition:
    """``text(properties[key]) IN values``; with ``missing_as_empty`` a missing (or JSON null)
    property compares as ``''``."""

    key: str
    values: tuple[str, ...]
    missing_as_empty: bool = False

    def holds(self, properties: Mapping[str, Any]) -> bool:
        text = property_text(properties.get(self.key))
        if text is None and self.missing_as_empty:
            text = ""
        return text is not None and text in self.values


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket: its position (bit), filter id, group keys, and its predicate:
    ``all(match) and not any(all(clause) for clause in exclude)``. ``never`` marks a filter that
    kept no declared key."""

    position: int
    filter_id: FilterId | None
    group_keys: tuple[str, ...]
    match: tuple[Condition, ...]
    exclude: tuple[tuple[Condition, ...], ...]
    never: bool = False
    key_count: int = 0

    def contains(self, properties: Mapping[str, Any]) -> bool:
        """Python evaluation of the predicate (one event: pay-in-advance bucket choice, tests)."""
        if self.never or not all(c.holds(properties) for c in self.match):
            return False
        return not any(all(c.holds(properties) for c in clause) for clause in self.exclude)


@dataclass(frozen=True, slots=True)
class BucketPlan:
    """All buckets of a request (filters in request order, then the default bucket).

    ``exclusive``: no event can be in two buckets; ``specificity``: filter positions in
    first-match order (most keys first, then fewer values, then older).
    """

    buckets: tuple[Bucket, ...]
    exclusive: bool
    specificity: tuple[int, ...]

    @property
    def default(self) -> Bucket:
        return self.buckets[-1]

    @property
    def filters(self) -> tuple[Bucket, ...]:
        return self.buckets[:-1]

    def by_id(self, filter_id: FilterId | None) -> Bucket:
        for bucket in self.buckets:
            if bucket.filter_id == filter_id:
                return bucket
        raise KeyError(filter_id)

    def bucket_for_event(self, properties: Mapping[str, Any]) -> Bucket:
        """The bucket a single event is billed in (pay-in-advance): among the filter buckets that
        count it, the one with the most keys (the oldest on a tie); else the default bucket.

        Lago picks among the *matching* filters, which can name a filter whose bucket excludes the
        event (a subset filter of the same key count, §6 V31); Billow keeps the event in the
        bucket that counts it, so that the event is part of its own aggregation.
        """
        best: Bucket | None = None
        for bucket in self.filters:
            if bucket.contains(properties) and (best is None or bucket.key_count > best.key_count):
                best = bucket
        return best if best is not None else self.default


Expanded = dict[str, tuple[str, ...]]


def _expand(spec: FilterSpec, declared: Mapping[str, Sequence[str]]) -> Expanded:
    """``to_h_with_all_values``: the sentinel expanded, undeclared keys dropped."""
    expanded: Expanded = {}
    for key, values in spec.values.items():
        if key not in declared:
            continue
        raw = [str(v) for v in values]
        expanded[key] = tuple(str(v) for v in declared[key]) if raw == [ALL_FILTER_VALUES] else tuple(raw)
    return expanded


def _is_child(parent: Expanded, child: Expanded) -> bool:
    """Every key of ``parent`` is in ``child`` with at least one common value."""
    return all(any(v in child.get(key, ()) for v in values) for key, values in parent.items())


def _ignored(
    parent: Expanded,
    parent_raw: Mapping[str, Sequence[str]],
    parent_pos: int,
    child: Expanded,
    child_pos: int,
) -> Expanded | None:
    """What ``child`` removes from ``parent``'s bucket (``None``: nothing)."""
    if sorted(child) != sorted(parent):
        return dict(child)
    if all(sorted(child[k]) == sorted(parent[k]) for k in child):
        return dict(child) if child_pos < parent_pos else None  # identical: the older keeps them
    if all(set(child[k]) <= set(parent[k]) for k in child):
        return dict(child)
    result: Expanded = {}
    for key, values in child.items():
        if [str(v) for v in parent_raw.get(key, ())] == [ALL_FILTER_VALUES]:
            result[key] = values
        else:
            result[key] = tuple(v for v in values if v not in parent[key])
    return result


def _clause(ignored: Expanded) -> tuple[Condition, ...]:
    return tuple(Condition(k, v, missing_as_empty=True) for k, v in ignored.items() if v)


def _match(expanded: Expanded) -> tuple[Condition, ...]:
    return tuple(Condition(k, v) for k, v in expanded.items())


def _co_matchable(a: Expanded, b: Expanded) -> bool:
    """Whether one event can match both (no shared key with disjoint values)."""
    return all(set(a[k]) & set(b[k]) for k in a.keys() & b.keys())


def _verbatim_child(parent: Expanded, parent_pos: int, child: Expanded, child_pos: int) -> bool:
    """``child``'s whole match set is excluded from ``parent``'s bucket."""
    if not _is_child(parent, child):
        return False
    if sorted(child) != sorted(parent):
        return True
    if all(sorted(child[k]) == sorted(parent[k]) for k in child):
        return child_pos < parent_pos
    return all(set(child[k]) <= set(parent[k]) for k in child)


def plan_buckets(metric: MetricSpec, filters: Sequence[FilterSpec], group_keys: Sequence[str]) -> BucketPlan:
    """Plan the buckets of a charge (filters oldest first; ``group_keys`` of the default bucket)."""
    declared = metric.filters
    expanded = [_expand(f, declared) for f in filters]
    buckets: list[Bucket] = []
    for pos, (spec, own) in enumerate(zip(filters, expanded, strict=True)):
        clauses: list[tuple[Condition, ...]] = []
        for other_pos, other in enumerate(expanded):
            if other_pos == pos or not other or not _is_child(own, other):
                continue
            ignored = _ignored(own, spec.values, pos, other, other_pos)
            if ignored is not None and (clause := _clause(ignored)):
                clauses.append(clause)
        buckets.append(
            Bucket(
                position=pos,
                filter_id=spec.id,
                group_keys=tuple(spec.group_keys),
                match=_match(own),
                exclude=tuple(clauses),
                never=not own,
                key_count=len(own),
            )
        )
    default_clauses = tuple(c for e in expanded if e and (c := _clause(e)))
    buckets.append(
        Bucket(
            position=len(filters),
            filter_id=None,
            group_keys=tuple(group_keys),
            match=(),
            exclude=default_clauses,
        )
    )
    exclusive = _exclusive(expanded)
    order = sorted(
        (pos for pos, e in enumerate(expanded) if e),
        key=lambda p: (-len(expanded[p]), sum(len(v) for v in expanded[p].values()), p),
    )
    return BucketPlan(buckets=tuple(buckets), exclusive=exclusive, specificity=tuple(order))


def _exclusive(expanded: Sequence[Expanded]) -> bool:
    """True when first-match in specificity order puts every event in its only bucket: no empty
    string among the values (``coalesce(·, '')`` would differ from the match) and every pair of
    filters that can match one event is a verbatim parent/child pair."""
    if any("" in values for e in expanded for values in e.values()):
        return False
    live = [(pos, e) for pos, e in enumerate(expanded) if e]
    for i, (pa, a) in enumerate(live):
        for pb, b in live[i + 1 :]:
            if not _co_matchable(a, b):
                continue
            if not (_verbatim_child(a, pa, b, pb) or _verbatim_child(b, pb, a, pa)):
                return False
    return True
