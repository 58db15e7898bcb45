"""`backup` and `restore` on real SQLite files: consistent copies under write load, round trips, refusals
that change nothing, and the PostgreSQL hint."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert

from bot.cli import main
from storage.backup import backup_sqlite
from storage.customers import TelegramProfile, ensure_customer, set_locale
from storage.db import Database
from storage.migrate import alembic_config, head_revisions, script_directory
from storage.models import Customer
from storage.types import utcnow
from tests.conftest import PROJECT_ROOT

WRITER_IDS = 10**9  # telegram ids of the rows the concurrent writer commits, in commit order


@pytest.fixture
def live(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated live database, named by DATABASE_URL for the CLI (run from an empty folder: no .env)."""
    path = tmp_path / "live" / "engagement.db"
    path.parent.mkdir()
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    return path


def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, list[str]]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip().splitlines()


async def add_customers(path: Path, telegram_ids: range) -> None:
    db = Database(url(path))
    try:
        for telegram_id in telegram_ids:
            async with db.session() as session:
                await ensure_customer(session, profile=TelegramProfile(telegram_id=telegram_id), locale="en")
    finally:
        await db.dispose()


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted: what "the data equals" means."""
    connection = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            table: sorted(connection.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }
    finally:
        connection.close()


def revisions(path: Path) -> set[str]:
    connection = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    try:
        return {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}
    finally:
        connection.close()


def integrity(path: Path) -> str:
    connection = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def writer_rows(path: Path) -> list[int]:
    connection = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    try:
        return [
            row[0]
            for row in connection.execute(
                "SELECT telegram_id FROM customers WHERE telegram_id >= ? ORDER BY id", (WRITER_IDS,)
            )
        ]
    finally:
        connection.close()


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in a folder and its content hash: a refusal must leave it exactly as it was."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


class Writer:
    """Keeps committing customers through the project's storage functions, one transaction each."""

    def __init__(self, db: Database, *, pause: float = 0.0) -> None:
        self.db = db
        self.pause = pause
        self.committed: list[int] = []
        self._stop = asyncio.Event()
        self._under_way = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        telegram_id = WRITER_IDS
        while not self._stop.is_set():
            async with self.db.session() as session:
                await ensure_customer(session, profile=TelegramProfile(telegram_id=telegram_id), locale="en")
            self.committed.append(telegram_id)  # after the commit returned
            if len(self.committed) == 20:
                self._under_way.set()
            telegram_id += 1
            await asyncio.sleep(self.pause)

    async def __aenter__(self) -> Writer:
        self._task = asyncio.create_task(self._run())
        under_way = asyncio.create_task(self._under_way.wait())  # writing before the backup starts
        await asyncio.wait([self._task, under_way], return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            under_way.cancel()
            self._task.result()  # the writer failed: raise its error
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task


def assert_consistent_copy(copy: Path, committed_before: list[int], committed: list[int]) -> None:
    rows = writer_rows(copy)
    # Every row committed before the backup began is in the copy...
    assert set(committed_before) <= set(rows)
    # ...and the copy is one moment of the database: a prefix of the commit order, no row without the
    # rows committed before it.
    assert rows == committed[: len(rows)]
    assert integrity(copy) == "ok"
    assert revisions(copy) == head_revisions()


async def test_backup_under_write_load_is_a_consistent_snapshot_and_does_not_block_writers(live, tmp_path):
    db = Database(url(live))
    async with db.session() as session:  # enough pages that the copy takes many steps
        now = utcnow()
        await session.execute(
            insert(Customer.__table__),
            [
                dict(telegram_id=n, locale="en", marketing_opt_in=True, reachable=True, created_at=now)
                for n in range(1, 3001)
            ],
        )
    target = tmp_path / "copy.db"
    try:
        async with Writer(db) as writer:
            committed_before = list(writer.committed)
            summary = await backup_sqlite(db, target=target, pages_per_step=4, pause=0.005)
            committed_during = len(writer.committed) - len(committed_before)
    finally:
        await db.dispose()
    assert committed_during >= 5  # writers kept committing while the copy was taken (WAL snapshot)
    assert_consistent_copy(target, committed_before, writer.committed)
    assert summary.path == target and summary.size == target.stat().st_size
    assert summary.customers == 3000 + len(writer_rows(target))
    assert set(summary.revisions) == head_revisions()
    assert_single_file(target)


def assert_single_file(target: Path) -> None:
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []  # no temporary file
    assert not Path(f"{target}-wal").exists()  # one self-contained file, not in WAL mode


async def test_backup_command_in_another_process_while_the_bot_writes(live, tmp_path):
    db = Database(url(live))
    target = tmp_path / "nightly.db"
    environment = {**os.environ, "DATABASE_URL": url(live), "PYTHONPATH": str(PROJECT_ROOT)}
    try:
        async with Writer(db, pause=0.002) as writer:  # paced: the other process needs a core to start
            committed_before = list(writer.committed)
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "backup",
                str(target),
                cwd=tmp_path,
                env=environment,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await db.dispose()
    assert process.returncode == 0, stderr.decode()
    assert_consistent_copy(target, committed_before, writer.committed)
    line = stdout.decode().strip()
    assert str(target) in line and "this code's head" in line
    assert f"{len(writer_rows(target))} customers" in line and "0 orders" in line


def test_backup_of_a_rollback_journal_database_is_a_copy(live, tmp_path):
    asyncio.run(add_customers(live, range(1, 6)))
    sqlite3.connect(live).execute("PRAGMA journal_mode=DELETE").close()
    summary = asyncio.run(backup_sqlite(url(live), target=tmp_path / "copy.db", pages_per_step=8))
    assert dump(tmp_path / "copy.db") == dump(live)
    assert summary.customers == 5


def test_restore_round_trip(live, tmp_path, capsys):
    asyncio.run(add_customers(live, range(1, 4)))
    backup = tmp_path / "before.db"
    code, out, err = cli(capsys, "backup", str(backup))
    assert (code, err) == (0, [])
    assert "3 customers" in out
    saved = dump(backup)

    async def change_things() -> None:
        await add_customers(live, range(4, 8))
        db = Database(url(live))
        try:
            async with db.session() as session:
                await set_locale(session, telegram_id=1, locale="ar")
        finally:
            await db.dispose()

    asyncio.run(change_things())
    assert dump(live) != saved

    code, out, err = cli(capsys, "restore", str(backup), "--yes")
    assert (code, err) == (0, [])
    assert out.startswith(f"restored {backup} into {live}") and "3 customers" in out
    assert dump(live) == saved
    assert integrity(live) == "ok"


def test_restore_of_an_older_backup_upgrades_it_to_head(live, tmp_path, capsys):
    base = script_directory().get_bases()[0]
    older = tmp_path / "older.db"

    async def make_older() -> None:
        db = Database(url(older))
        config = alembic_config(db.url)

        def _upgrade(connection) -> None:
            config.attributes["connection"] = connection
            command.upgrade(config, base)

        try:
            async with db.engine.begin() as connection:
                await connection.run_sync(_upgrade)
        finally:
            await db.dispose()

    asyncio.run(make_older())
    with sqlite3.connect(older) as connection:
        connection.execute(
            "INSERT INTO customers (telegram_id, locale, marketing_opt_in, reachable, created_at) "
            "VALUES (42, 'ar', 1, 1, '2026-01-01 00:00:00.000000')"
        )
    connection.close()

    code, out, err = cli(capsys, "restore", str(older), "--yes")
    assert (code, err) == (0, [])
    assert f"upgraded from {base}" in out and "1 customers" in out
    assert revisions(live) == head_revisions()
    assert [row[0] for row in dump(live)["customers"]] == [1]
    assert revisions(older) == {base}  # the backup itself is only read


def _not_a_database(path: Path, _good: Path) -> None:
    path.write_text("order_id,amount\n1,10\n")


def _corrupt(path: Path, good: Path) -> None:
    data = bytearray(good.read_bytes())
    data[4096 * 3 : 4096 * 6] = b"\xa5" * (4096 * 3)  # header intact, b-tree pages garbage
    path.write_bytes(bytes(data))


def _no_alembic_version(path: Path, _good: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    connection.close()


def _with_revision(revision: str):
    def make(path: Path, good: Path) -> None:
        shutil.copy(good, path)
        with sqlite3.connect(path) as connection:
            connection.execute("DELETE FROM alembic_version")
            connection.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (revision,))
        connection.close()

    return make


def _newer_than_head(path: Path, good: Path) -> None:
    """A backup from a later version: this code's heads, then a migration it does not have."""
    shutil.copy(good, path)
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM alembic_version")
        connection.execute("INSERT INTO alembic_version (version_num) VALUES ('9990_from_the_future')")
    connection.close()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (None, "cannot read"),
        (_not_a_database, "is not a SQLite database"),
        (_corrupt, "integrity"),
        (_no_alembic_version, "no alembic_version"),
        (_with_revision("deadbeef"), "revision deadbeef"),
        (_newer_than_head, "revision 9990_from_the_future"),
    ],
    ids=["missing", "not-a-database", "corrupt", "no-alembic-version", "unknown-revision", "newer-than-head"],
)
def test_restore_refuses_a_bad_file_and_changes_nothing(live, tmp_path, capsys, make, reason):
    asyncio.run(add_customers(live, range(1, 3)))
    good = tmp_path / "good.db"
    assert cli(capsys, "backup", str(good))[0] == 0
    asyncio.run(add_customers(live, range(3, 5)))  # the live database differs from any backup
    bad_folder = tmp_path / "bad"
    bad_folder.mkdir()
    bad = bad_folder / "backup.db"
    if make is not None:
        make(bad, good)
    data_before = dump(live)
    live_before, bad_before = fingerprint(live.parent), fingerprint(bad_folder)

    code, out, err = cli(capsys, "restore", str(bad), "--yes")

    assert code == 2 and out == ""
    assert len(err) == 1 and err[0].startswith("error: restore refused:") and reason in err[0], err
    assert fingerprint(live.parent) == live_before
    assert fingerprint(bad_folder) == bad_before  # not even -wal or -shm files beside the backup
    assert dump(live) == data_before


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_restore_asks_on_a_terminal_and_refuses_without_one(live, tmp_path, capsys, monkeypatch):
    asyncio.run(add_customers(live, range(1, 3)))
    backup = tmp_path / "b.db"
    assert cli(capsys, "backup", str(backup))[0] == 0
    asyncio.run(add_customers(live, range(3, 5)))
    before = dump(live)

    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped input is no confirmation
    code, out, err = cli(capsys, "restore", str(backup))
    assert code == 2 and len(err) == 1 and "--yes" in err[0]
    assert dump(live) == before

    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    code, out, err = cli(capsys, "restore", str(backup))
    assert code == 2 and err == ["error: restore cancelled; nothing was changed"]
    assert "2 customers" in out and "4 customers" in out and "[y/N]" in out
    assert dump(live) == before

    monkeypatch.setattr(sys, "stdin", Terminal("yes\n"))
    code, out, err = cli(capsys, "restore", str(backup))
    assert (code, err) == (0, [])
    assert dump(live) == dump(backup)


def test_backup_refuses_an_existing_file_without_force(live, tmp_path, capsys):
    target = tmp_path / "out" / "backup.db"
    target.parent.mkdir()
    target.write_text("yesterday's backup")

    code, out, err = cli(capsys, "backup", str(target))
    assert code == 2 and out == ""
    assert err == [f"error: backup refused: {target} already exists; pass --force to replace it"]
    assert [p.name for p in target.parent.iterdir()] == ["backup.db"]
    assert target.read_text() == "yesterday's backup"

    code, out, err = cli(capsys, "backup", str(target), "--force")
    assert (code, err) == (0, [])
    assert [p.name for p in target.parent.iterdir()] == ["backup.db"]
    assert integrity(target) == "ok"


def test_backup_refuses_to_write_over_the_live_database(live, capsys):
    before = fingerprint(live.parent)
    code, _, err = cli(capsys, "backup", str(live), "--force")
    assert code == 2 and "live database itself" in err[0]
    assert fingerprint(live.parent) == before


def test_backup_of_a_missing_database_exits_1_and_creates_nothing(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "missing.db"
    monkeypatch.setenv("DATABASE_URL", url(missing))
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "backup", str(tmp_path / "copy.db"))
    assert code == 1 and out == ""
    assert len(err) == 1 and "DATABASE_URL" in err[0] and "does not exist" in err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "tool"),
    [
        ("backup", 'pg_dump --format=custom --no-owner "$URL" -f engagement.dump'),
        ("restore", 'pg_restore --clean --if-exists --no-owner -d "$URL" engagement.dump'),
    ],
)
def test_postgresql_gets_the_pg_dump_commands_and_exit_2(tmp_path, capsys, monkeypatch, command, tool):
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://shop:s3cret@db.internal:5432/shop")
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, command, "engagement.dump", "--yes" if command == "restore" else "--force")
    assert code == 2 and out == ""
    assert len(err) == 1 and tool in err[0]
    assert "URL=postgresql://shop:***@db.internal:5432/shop" in err[0] and "s3cret" not in err[0]
    assert list(tmp_path.iterdir()) == []


def test_restore_onto_a_new_machine_creates_the_database(live, tmp_path, capsys, monkeypatch):
    asyncio.run(add_customers(live, range(1, 4)))
    backup = tmp_path / "b.db"
    assert cli(capsys, "backup", str(backup))[0] == 0
    fresh = tmp_path / "new-host" / "engagement.db"
    fresh.parent.mkdir()
    monkeypatch.setenv("DATABASE_URL", url(fresh))
    code, _, err = cli(capsys, "restore", str(backup), "--yes")
    assert (code, err) == (0, [])
    assert dump(fresh) == dump(backup)
