"""``column IN (values)`` with the values as one parameter on PostgreSQL: ``column = ANY(:values)``.

An IN-list of a few hundred values (a group of billing jobs reads its 250 customers, their
subscriptions, their flags at once) costs more on the client than on the server: SQLAlchemy
renders one placeholder per value and psycopg parses the long statement again every time
(statements with more than 50 parameters are not cached) — about 4 ms of CPU for 250 UUIDs,
against a query that runs in 0.1 ms. Bound as one array (about 2 ms), the statement is short
and constant.
Other databases (SQLite) get the usual expanding IN.

``one_of(column, values)`` binds ``values`` now; ``one_of(column, key="ids")`` binds them at
execution from the parameter ``ids`` (a statement built once, as ``bindparam(expanding=True)``).
Either way the statement caches as any other: only the form the dialect uses is compiled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class OneOf(ColumnElement[bool]):
    """See the module. Both parameters are part of the statement (so the cache maps either to
    the values of a later statement of the same shape); the dialect compiles one."""

    inherit_cache = True
    type = Boolean()
    # A comparison: a WHERE takes it as it is (else SQLite's rendering adds ``= 1``, which keeps
    # the IN from using an index).
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("array", InternalTraversal.dp_clauseelement),
        ("expanding", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], values: Iterable[Any] | None, key: str | None) -> None:
        bound = list(values) if values is not None else None
        self.column = column
        self.array = bindparam(key, bound, type_=ARRAY(column.type))
        self.expanding = bindparam(key, bound, type_=column.type, expanding=True)


def one_of(column: Any, values: Iterable[Any] | None = None, *, key: str | None = None) -> OneOf:
    """``column IN (values)`` (see the module); ``key``: the values come from that parameter."""
    if (values is None) == (key is None):
        raise TypeError("one_of takes values or a parameter key, not both")
    return OneOf(column, values, key)


@compiles(OneOf)
def _in_list(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.expanding), **kw)


@compiles(OneOf, "postgresql")
def _any_array(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column == any_(element.array), **kw)
