"""Bulk reads for a group of jobs that run in one transaction (``JobKind.prepare``).

The worker runs consecutive claimed jobs of a kind that declares ``prepare`` together, in one
transaction (``billow.jobs.worker``). ``prepare`` reads in a few statements what each job would
otherwise read for itself, one round trip each, and leaves it here. The readers ask here first
and fall back to their own statement when nothing was prefetched for their key, so the result is
the same either way: only the number of round trips changes.

Two kinds of entries:

* ``take``: a value read for one job, handed over once (removed when read). A second read of the
  same key in the group goes to the database, so a value one job may have changed is never
  served to another.
* ``memo`` / ``share``: a value loaded on first use, or set by ``prepare``, and kept for the group
  (what no job of the kind writes, e.g. an organization's webhook endpoints during a billing run).

Deferred writes: the worker flushes the session after each job of a group, so that the next job
reads what it wrote — unless the job said its writes may wait (:func:`defer_writes`): then they
go out with the next flush (the next job's, a read's autoflush, or the group's commit), many
jobs' rows of a table in one statement. A job may say so only when nothing that reads without
the ORM's autoflush (Core statements) depends on them, before the group commits: a conflict one
of them meets then (a unique index) fails the whole group, whose jobs run again alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select

if TYPE_CHECKING:
    from billow.db.context import Ctx

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What :meth:`Prefetched.take` answers when nothing was prefetched for the key."""


class Prefetched:
    def __init__(self) -> None:
        self._once: dict[tuple[str, Hashable], Any] = {}
        self._memo: dict[tuple[str, Hashable], Any] = {}
        self.writes_deferred = False
        """Set by the running job (:func:`defer_writes`), cleared by the worker before each."""
        self.any_writes_deferred = False
        """Whether any job of the group deferred its writes (never cleared)."""
        self._before_commit: dict[str, Callable[[], None]] = {}

    def before_commit(self, name: str, write: Callable[[], None]) -> None:
        """``write()`` once, when the group's jobs have all run, before its last flush (what the
        jobs deferred and is written for all of them at once); a second registration of
        ``name`` is ignored."""
        self._before_commit.setdefault(name, write)

    def run_before_commit(self) -> None:
        """Called by the worker at the end of a group (in registration order)."""
        while self._before_commit:
            name = next(iter(self._before_commit))
            self._before_commit.pop(name)()

    def put(self, name: str, key: Hashable, value: Any) -> None:
        self._once[(name, key)] = value

    def put_flags(self, name: str, keys: Iterable[Hashable], having: Collection[Hashable]) -> None:
        """``name`` is true for the keys in ``having``, false for the other ``keys``."""
        for key in keys:
            self._once[(name, key)] = key in having

    def take(self, name: str, key: Hashable) -> Any:
        return self._once.pop((name, key), MISSING)

    def peek(self, name: str, key: Hashable) -> Any:
        """The value a later :meth:`take` would hand over, left in place (for a writer that
        must keep it true: what it writes, the value it adds to)."""
        return self._once.get((name, key), MISSING)

    def share(self, name: str, key: Hashable, value: Any) -> None:
        """A value for the whole group (read with :meth:`shared`, never taken)."""
        self._memo[(name, key)] = value

    def shared(self, name: str, key: Hashable) -> Any:
        return self._memo.get((name, key), MISSING)

    def memo(self, name: str, key: Hashable, load: Callable[[], T]) -> T:
        found = self._memo.get((name, key), MISSING)
        if found is MISSING:
            found = self._memo[(name, key)] = load()
        return found  # type: ignore[no-any-return]


def take(ctx: Ctx, name: str, key: Hashable) -> Any:
    """The value prefetched for ``key`` (once), else :data:`MISSING`."""
    if ctx.prefetched is None:
        return MISSING
    return ctx.prefetched.take(name, key)


def known_absent(ctx: Ctx, name: str, key: Hashable) -> bool:
    """Whether a prefetched flag says ``key`` has nothing of ``name`` (taken once)."""
    return take(ctx, name, key) is False


def memo(ctx: Ctx, name: str, key: Hashable, load: Callable[[], T]) -> T:
    """``load()`` once per group of jobs (every time outside a group)."""
    if ctx.prefetched is None:
        return load()
    return ctx.prefetched.memo(name, key, load)


def defer_writes(ctx: Ctx) -> None:
    """The running job's writes may wait for a later flush of the group (see the module doc)."""
    if ctx.prefetched is not None:
        ctx.prefetched.writes_deferred = ctx.prefetched.any_writes_deferred = True


def writes_deferred(ctx: Ctx) -> bool:
    """Whether the running job said its writes may wait (its own flushes are then skipped)."""
    return ctx.prefetched is not None and ctx.prefetched.writes_deferred


def flush(ctx: Ctx) -> None:
    """``session.flush()``, unless the running job's writes wait for the group's flush."""
    if not writes_deferred(ctx):
        ctx.session.flush()


def prefetch_flags(ctx: Ctx, names: Sequence[str], keys: Sequence[Hashable], having: Select[Any]) -> set[Any]:
    """Flags ``names`` of ``keys``: true for the keys ``having`` selects (its first column),
    false for the others; returns the keys flagged true. Nothing outside a group of jobs."""
    if ctx.prefetched is None or not keys:
        return set()
    found = set(ctx.session.scalars(having))
    for name in names:
        ctx.prefetched.put_flags(name, keys, found)
    return found
