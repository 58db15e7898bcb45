"""PostgreSQL pool: a connection that sat idle is checked before use (and replaced when the server
dropped it); a busy pool does not ping on every checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.db import Database
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(PG_URL is None, reason="needs TEST_DATABASE_URL (PostgreSQL)")


async def backend_pid(db: Database) -> int:
    async with db.read_session() as session:
        return (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()


def count_pings(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    original = db.engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(1)
        return original(dbapi_connection)

    monkeypatch.setattr(db.engine.dialect, "do_ping", counted)
    return pings


async def test_a_connection_dropped_while_idle_is_replaced_before_use(postgres_url, monkeypatch):
    db = Database(postgres_url, idle_ping_seconds=0)  # every reuse counts as idle
    admin = Database(postgres_url)
    try:
        pings = count_pings(db, monkeypatch)
        first = await backend_pid(db)
        async with admin.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        second = await backend_pid(db)  # no error: the ping found the dead connection
        assert second != first
        assert pings, "the idle connection was pinged"
    finally:
        await db.dispose()
        await admin.dispose()


async def test_a_busy_pool_does_not_ping(postgres_url, monkeypatch):
    db = Database(postgres_url)  # default: only connections idle for 10 s are pinged
    try:
        pings = count_pings(db, monkeypatch)
        for _ in range(20):
            await backend_pid(db)
        assert pings == []
    finally:
        await db.dispose()
