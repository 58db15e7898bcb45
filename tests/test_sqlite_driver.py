"""storage/sqlite_driver.py: every statement is one call into aiosqlite's thread, with the results
SQLAlchemy needs (rows, rowcount, lastrowid, executemany), and errors as SQLite's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import Database


@contextmanager
def thread_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield calls


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/driver.db")
    async with database.session() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield database
    await database.dispose()


async def test_a_read_unit_of_three_statements_is_five_thread_calls(db, monkeypatch):
    with thread_calls(monkeypatch) as calls:
        async with db.read_session() as session:
            for _ in range(3):
                await session.execute(text("SELECT count(*) FROM t"))
    # BEGIN, three statements, COMMIT; no rollback when the pool takes the connection back.
    assert calls == ["_run", "_run", "_run", "_run", "commit"], calls


async def test_results_rowcount_lastrowid_and_executemany(db):
    async with db.session() as session:
        inserted = await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await session.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
        updated = await session.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
    async with db.read_session() as session:
        rows = (await session.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
        assert (await session.execute(text("SELECT name FROM t WHERE id = 9"))).first() is None


async def test_an_error_rolls_back_and_is_sqlalchemys_integrity_error(db):
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('x')"))
            await session.execute(text("INSERT INTO t (name) VALUES ('x')"))
    async with db.read_session() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0
