"""The async engine and the session factory, with SQLite tuned for a concurrent bot."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.sqlite_driver import one_hop_module

SQLITE_BUSY_TIMEOUT_MS = 15_000
IDLE_PING_SECONDS = 10.0  # PostgreSQL: pooled connections idle this long are pinged before use
IDLE_SINCE = "idle_since"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY instead of waiting,
        # or work from a stale read; BEGIN IMMEDIATE takes the write lock up front so read-modify-write
        # units of work are serialized and never lose updates. Read-only sessions skip the lock.
        if connection.get_execution_options().get("readonly"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it sat idle for `idle_seconds`: a server restart or
    a dropped idle connection is caught before an update uses it, as with pool_pre_ping, but a busy bot
    does not pay a round trip to the server for every transaction (pool_pre_ping pings on every checkout).
    Raising DisconnectionError makes the pool discard the connection and hand out another one."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # a new connection, or one that worked a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the driver's own error for a closed connection
            raise DisconnectionError(str(error)) from error
        if not alive:
            raise DisconnectionError("the idle connection did not answer")


async def take_write_lock(session: AsyncSession) -> bool:
    """SQLite: turn the session's open read transaction into a write transaction in place. True when it
    holds the write lock now; False (at once, without waiting) when another connection holds it or wrote
    since this transaction's first read (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT): then the caller ends this
    transaction and begins a new one with BEGIN IMMEDIATE, which waits. A write statement that changes
    nothing is what takes the lock: SQLite has no statement for it."""
    try:
        await session.execute(text("UPDATE customers SET id = id WHERE 0"))
    except OperationalError as error:
        # SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT, BUSY_RECOVERY) share the primary code 5.
        if getattr(error.orig, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY:
            return False
        raise
    return True


class Database:
    """Owns the engine; hands out one session per unit of work."""

    def __init__(self, url: str, *, echo: bool = False, idle_ping_seconds: float = IDLE_PING_SECONDS) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=20)
        elif make_url(url).get_driver_name() == "aiosqlite":
            kwargs["module"] = one_hop_module()  # one thread round trip per statement, not four
        self.engine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _install_sqlite_pragmas(self.engine)
        else:
            _ping_idle_connections(self.engine, idle_ping_seconds)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(readonly=True), class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read-write unit of work: committed on success, rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    def new_session(self) -> AsyncSession:
        """A session not yet in a transaction, for a unit of work that decides its mode itself: it begins
        with `await session.connection(execution_options={"readonly": …})` (see _on_begin)."""
        return self._sessions()

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work; on SQLite it does not take the write lock."""
        async with self._read_sessions() as session, session.begin():
            yield session

    async def check_connection(self) -> str | None:
        """None when the database can be opened, else a one-line reason (for a clear start-up error)."""
        if self.is_sqlite:
            # The stdlib driver, synchronously: a failed aiosqlite connect leaves its thread calling into
            # the event loop after asyncio.run() has closed it.
            path = make_url(self.url).database
            if not path or path == ":memory:":
                return None
            try:
                sqlite3.connect(path).close()
            except sqlite3.Error as error:
                return str(error)
            return None
        try:
            async with self.engine.connect():
                return None
        except (OSError, SQLAlchemyError) as error:
            return str(getattr(error, "orig", None) or error).splitlines()[0] or type(error).__name__

    async def dispose(self) -> None:
        await self.engine.dispose()
