"""aiosqlite with one thread hop per statement instead of four.

aiosqlite runs every call of its connection in the connection's own thread, and each call is a round trip
between that thread and the event loop (about 90 µs on the 2-core machine the benchmarks run on, while a
SELECT of one row takes 2 µs in SQLite itself). SQLAlchemy's aiosqlite adapter makes four such calls per
statement (open a cursor, execute, fetch the rows, close the cursor), so the round trips, not SQLite, were
most of an update's database time (bench/inbound.py).

The cursor here does all four in one call in that thread, through aiosqlite's queue: the same driver,
connection, thread and error classes, and every statement still runs off the event loop. It is passed to
SQLAlchemy as the engine's DBAPI module (`create_async_engine(..., module=one_hop_module())`), so the
dialect, URL (`sqlite+aiosqlite://`) and pool stay SQLAlchemy's own.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# What one statement leaves behind for SQLAlchemy: description, rows, rowcount, lastrowid.
Outcome = tuple[Any, list[Any], int, int | None]


def _run(raw: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """In aiosqlite's thread: the whole statement, cursor opened and closed around it."""
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one aiosqlite call. SQLAlchemy reads the results from
    `_rows` (the base class's fetch methods) and the attributes below."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # Not the base __init__: it opens an aiosqlite cursor (a round trip) this class never uses.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: Outcome = (None, [], -1, None)

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[2]

    @property
    def lastrowid(self) -> Any:
        return self._outcome[3]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:  # buffered: every row is fetched anyway
        pass

    async def _async_soft_close(self) -> None:
        pass  # nothing is open in the thread between calls

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._call(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._call(operation, seq_of_parameters, many=True)

    def _call(self, operation: Any, parameters: Any, *, many: bool) -> None:
        try:
            await_(self._call_async(operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _call_async(self, operation: Any, parameters: Any, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection = self._connection
            # aiosqlite's own queue (its public calls use the same one): one round trip.
            self._outcome = await connection._execute(_run, connection._conn, operation, parameters, many)
            self._rows = collections.deque(self._outcome[1])


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment]  # a subclass; mypy reads the base as exact

    def rollback(self) -> None:
        # The pool rolls back every connection it gets back, also one whose unit just committed: a round
        # trip for nothing. SQLite knows whether a transaction is open (the engine sets isolation_level
        # None, so transactions are the explicit BEGINs of storage/db.py); the thread is idle here, as
        # SQLAlchemy never calls the connection concurrently.
        raw = self._connection._connection
        if raw is not None and not raw.in_transaction:
            return
        super().rollback()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def one_hop_module() -> OneHopDBAPI:
    return OneHopDBAPI(aiosqlite, sqlite3)
