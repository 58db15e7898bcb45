"""Consistent copies of the SQLite database while the bot runs, with SQLite's online backup API (restores:
storage/restore.py; PostgreSQL has pg_dump and pg_restore instead: docs/operations.md).

Backup: in WAL mode (the bot always sets it) the copy is taken from one read snapshot held across all steps,
so it is exactly the database as committed when the backup began, and writers are never blocked (WAL readers
do not block writers); the steps only keep each call into SQLite short. A database in another journal mode
is copied in steps that release the shared lock in between, so a writer waits at most one step; SQLite
restarts the copy when another connection writes, which keeps it consistent.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database, is_sqlite

SQLITE_MAGIC = b"SQLite format 3\x00"
# 1 MiB a step at the default page size: each call into SQLite returns within milliseconds.
PAGES_PER_STEP = 256
# Between steps outside WAL mode, so writers waiting on the busy timeout get the lock.
ROLLBACK_JOURNAL_PAUSE = 0.01


class BackupRefused(Exception):
    """The input (backup file, target, database URL) is unusable; nothing was changed."""


class NotSqlite(BackupRefused):
    """The database is not SQLite (PostgreSQL: pg_dump and pg_restore)."""


class DatabaseUnavailable(Exception):
    """The live database cannot be opened, read or written."""


@dataclass(frozen=True)
class Summary:
    """A database file as an operator wants to see it before trusting it."""

    path: Path
    size: int
    revisions: tuple[str, ...]  # its alembic_version rows, sorted; () when it has none
    customers: int | None  # None when the table does not exist (yet)
    orders: int | None


def sqlite_path(db_or_url: Database | str) -> Path:
    """The absolute path of the SQLite file a Database or URL names."""
    url = db_or_url.url if isinstance(db_or_url, Database) else db_or_url
    if not is_sqlite(url):
        raise NotSqlite("the database is not SQLite")
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupRefused("the database URL names no SQLite file")
    return Path(database).absolute()


def side_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]


def same_file(a: Path, b: Path) -> bool:
    return any(a.resolve() == other.resolve() for other in side_files(b))


def revisions_of(connection: sqlite3.Connection) -> tuple[str, ...] | None:
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError:  # no such table
        return None
    return tuple(sorted(str(row[0]) for row in rows))


def _count(connection: sqlite3.Connection, table: str) -> int | None:
    try:
        # `table` is one of two constant names below, never input.
        return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
    except sqlite3.OperationalError:
        return None


def summary_of(connection: sqlite3.Connection, path: Path) -> Summary:
    return Summary(
        path=path,
        size=path.stat().st_size,
        revisions=revisions_of(connection) or (),
        customers=_count(connection, "customers"),
        orders=_count(connection, "orders"),
    )


def integrity_problem(connection: sqlite3.Connection) -> str | None:
    rows = connection.execute("PRAGMA integrity_check").fetchall()
    return None if rows == [("ok",)] else "; ".join(str(row[0]) for row in rows[:3])


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory
        if not directory:
            raise
    finally:
        os.close(fd)


def _place(partial: Path, target: Path, *, force: bool) -> None:
    """Move the finished copy into place; without force never over an existing file (not even one that
    appeared during the backup)."""
    if force:
        os.replace(partial, target)
    else:
        try:
            os.link(partial, target)  # fails atomically if target exists
        except FileExistsError:
            raise BackupRefused(f"{target} already exists; pass --force to replace it") from None
        except OSError:  # no hard links on this file system
            if target.exists():
                raise BackupRefused(f"{target} already exists; pass --force to replace it") from None
            os.replace(partial, target)
        else:
            partial.unlink()
    _fsync(target.parent, directory=True)


def _backup(source: Path, target: Path, *, force: bool, pages_per_step: int, pause: float) -> Summary:
    target = target.absolute()
    if same_file(target, source):
        raise BackupRefused(f"{target} is the live database itself")
    if target.is_dir():
        raise BackupRefused(f"{target} is a folder")
    if target.exists() and not force:
        raise BackupRefused(f"{target} already exists; pass --force to replace it")
    if not target.parent.is_dir():
        raise BackupRefused(f"folder {target.parent} does not exist")
    if not source.is_file():
        raise DatabaseUnavailable(f"{source} does not exist")
    try:
        # mode=rw: never create the live file; the journal mode is left as the bot set it.
        src = sqlite3.connect(
            source.as_uri() + "?mode=rw",
            uri=True,
            isolation_level=None,
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        )
    except sqlite3.Error as error:
        raise DatabaseUnavailable(f"{source}: {error}") from None
    try:
        try:
            wal = src.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        except sqlite3.Error as error:
            raise DatabaseUnavailable(f"{source}: {error}") from None
        try:
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        except OSError as error:
            raise BackupRefused(f"cannot write in {target.parent}: {error.strerror}") from None
        os.close(fd)
        partial = Path(name)
        try:
            dst = sqlite3.connect(partial, isolation_level=None)
            try:
                if wal:
                    src.execute("BEGIN")
                    src.execute("SELECT count(*) FROM sqlite_master")  # takes the read snapshot now
                else:
                    pause = max(pause, ROLLBACK_JOURNAL_PAUSE)
                progress = (lambda _status, _remaining, _total: time.sleep(pause)) if pause > 0 else None
                src.backup(dst, pages=pages_per_step, progress=progress)
                if wal:
                    src.execute("COMMIT")
                dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
                problem = integrity_problem(dst)
                if problem is not None:
                    raise DatabaseUnavailable(f"the copy of {source} failed integrity_check: {problem}")
                summary = summary_of(dst, partial)
            except sqlite3.Error as error:
                raise DatabaseUnavailable(f"backup of {source} failed: {error}") from None
            finally:
                dst.close()
            _fsync(partial)
            _place(partial, target, force=force)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        src.close()
    return Summary(
        path=target,
        size=target.stat().st_size,
        revisions=summary.revisions,
        customers=summary.customers,
        orders=summary.orders,
    )


async def backup_sqlite(
    db_or_url: Database | str,
    *,
    target: Path | str,
    force: bool = False,
    pages_per_step: int = PAGES_PER_STEP,
    pause: float = 0.0,
) -> Summary:
    """Copy the live SQLite database to target (a temporary file next to it, renamed when complete and
    checked); refuses an existing target unless force. Runs in a worker thread, off the event loop."""
    source = sqlite_path(db_or_url)
    return await asyncio.to_thread(
        _backup, source, Path(target), force=force, pages_per_step=pages_per_step, pause=pause
    )
