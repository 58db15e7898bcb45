"""Typed access to what SQLModel's annotations leave out or over-widen.

SQLModel creates `Model.__table__` at class creation without declaring it; its AsyncSession.execute is
annotated to return a plain Result even where SQLAlchemy returns a CursorResult (INSERT, UPDATE, DELETE); and
a model's `id` is `int | None` because an unsaved row has none, though every stored row has one.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel, col

T = TypeVar("T")


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def table_of(model: type[SQLModel]) -> Table:
    """The Table of a `table=True` model (what `model.__table__` is at run time)."""
    table = sa_inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT, UPDATE or DELETE matched; SQLAlchemy returns a CursorResult for those."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no row count: not the result of a DML statement")
    return result.rowcount


def saved_id(row: _Row) -> int:
    """The id of a row that is in the database (loaded, or added and flushed)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: it was never flushed")
    return row.id


def non_null(column: T | None) -> Mapped[T]:
    """A column typed as what a query returns from it when that cannot be null: a model's `id` (the primary
    key is NOT NULL), or a nullable column the query keeps to IS NOT NULL."""
    return cast(Mapped[T], col(column))
