"""Consistent copies of the SQLite database while the bot runs, and checked restores, with SQLite's online
backup API (PostgreSQL has pg_dump and pg_restore instead: docs/operations.md).

Backup: in WAL mode (the bot always sets it) the copy is taken from one read snapshot held across all steps,
so it is exactly the database as committed when the backup began, and writers are never blocked (WAL readers
do not block writers); the steps only keep each call into SQLite short. A database in another journal mode
is copied in steps that release the shared lock in between, so a writer waits at most one step; SQLite
restarts the copy when another connection writes, which keeps it consistent.

Restore: the file is checked (SQLite header, integrity_check, an alembic_version this code knows) and then
copied into the live database with the same API in reverse: one write transaction on the live file, which
other connections wait for through their busy timeout and then see whole. Nothing is written on a refusal.
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
from storage.migrate import head_revisions, known_revisions, upgrade_to_head

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


@dataclass(frozen=True)
class CheckedBackup:
    summary: Summary
    current: bool  # at this code's head(s); otherwise older, and a restore upgrades it


@dataclass(frozen=True)
class Restored:
    backup: CheckedBackup
    database: Summary  # the live database after the restore (and upgrade)


def sqlite_path(db_or_url: Database | str) -> Path:
    """The absolute path of the SQLite file a Database or URL names."""
    url = db_or_url.url if isinstance(db_or_url, Database) else db_or_url
    if not is_sqlite(url):
        raise NotSqlite("the database is not SQLite")
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupRefused("the database URL names no SQLite file")
    return Path(database).absolute()


def _side_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]


def _same_file(a: Path, b: Path) -> bool:
    return any(a.resolve() == other.resolve() for other in _side_files(b))


def _revisions(connection: sqlite3.Connection) -> tuple[str, ...] | None:
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


def _summary(connection: sqlite3.Connection, path: Path) -> Summary:
    return Summary(
        path=path,
        size=path.stat().st_size,
        revisions=_revisions(connection) or (),
        customers=_count(connection, "customers"),
        orders=_count(connection, "orders"),
    )


def _integrity_problem(connection: sqlite3.Connection) -> str | None:
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
    if _same_file(target, source):
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
                problem = _integrity_problem(dst)
                if problem is not None:
                    raise DatabaseUnavailable(f"the copy of {source} failed integrity_check: {problem}")
                summary = _summary(dst, partial)
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


def _open_backup(path: Path) -> tuple[sqlite3.Connection, CheckedBackup]:
    """Open a backup read-only inside one read transaction and check it; raises BackupRefused."""
    path = path.absolute()
    try:
        with path.open("rb") as file:
            header = file.read(100)
    except OSError as error:
        raise BackupRefused(f"cannot read {path}: {error.strerror}") from None
    if not header.startswith(SQLITE_MAGIC):
        raise BackupRefused(f"{path} is not a SQLite database")
    uri = path.as_uri() + "?mode=ro"
    if len(header) > 18 and header[18] == 2 and not path.with_name(path.name + "-wal").exists():
        uri += "&immutable=1"  # a WAL-mode copy on its own: do not create -wal and -shm files beside it
    try:
        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise BackupRefused(f"cannot open {path}: {error}") from None
    try:
        connection.execute("BEGIN")  # what is checked is what gets copied
        try:
            problem = _integrity_problem(connection)
        except sqlite3.DatabaseError as error:  # too damaged for the check to finish
            problem = str(error)
        if problem is not None:
            raise BackupRefused(f"{path} failed SQLite's integrity check: {problem}")
        revisions = _revisions(connection)
        if revisions is None:
            raise BackupRefused(f"{path} has no alembic_version table: not a database of this bot")
        if not revisions:
            raise BackupRefused(f"{path} records no migration revision in alembic_version")
        heads = head_revisions()
        unknown = sorted(set(revisions) - known_revisions())
        if unknown:
            raise BackupRefused(
                f"{path} is at migration revision {', '.join(unknown)}, which this version of the bot does "
                f"not know (newer than its head {', '.join(sorted(heads))}?); restore it with the version "
                "that made it"
            )
        checked = CheckedBackup(summary=_summary(connection, path), current=set(revisions) == heads)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise BackupRefused(f"{path} is not a usable SQLite database: {error}") from None
    except BaseException:
        connection.close()
        raise
    return connection, checked


def _check_backup(path: Path) -> CheckedBackup:
    connection, checked = _open_backup(path)
    connection.close()
    return checked


async def check_backup(path: Path | str) -> CheckedBackup:
    """Check a backup file for restore (raises BackupRefused); reads it only."""
    return await asyncio.to_thread(_check_backup, Path(path))


def _live_summary(live: Path) -> Summary | None:
    if not live.is_file():
        return None
    try:
        connection = sqlite3.connect(live.as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return _summary(connection, live)
    except sqlite3.Error:
        return None
    finally:
        connection.close()


async def database_summary(db_or_url: Database | str) -> Summary | None:
    """The live database as it is now; None when its file does not exist or cannot be read."""
    return await asyncio.to_thread(_live_summary, sqlite_path(db_or_url))


def _restore(live: Path, source: Path) -> CheckedBackup:
    source = source.absolute()
    if _same_file(source, live):
        raise BackupRefused(f"{source} is the live database itself")
    backup, checked = _open_backup(source)
    try:
        if not live.parent.is_dir():
            raise DatabaseUnavailable(f"folder {live.parent} does not exist")
        try:
            dst = sqlite3.connect(live, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as error:
            raise DatabaseUnavailable(f"{live}: {error}") from None
        try:
            if dst.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                ours = backup.execute("PRAGMA page_size").fetchone()[0]
                theirs = dst.execute("PRAGMA page_size").fetchone()[0]
                if ours != theirs:  # SQLite cannot change the page size of a WAL database
                    raise DatabaseUnavailable(
                        f"{source} has {ours}-byte pages and {live} {theirs}-byte ones; stop the bot, move "
                        f"{live.name} (and its -wal and -shm files) aside and restore again"
                    )
            backup.backup(dst)  # one step: the live file stays locked until the copy is complete anyway
        except sqlite3.Error as error:
            raise DatabaseUnavailable(f"cannot restore into {live}: {error}") from None
        finally:
            dst.close()
    finally:
        backup.close()
    return checked


async def restore_sqlite(db_or_url: Database | str, *, source: Path | str) -> Restored:
    """Check source and copy it into the live SQLite database, then upgrade it to head if it is older.
    Raises BackupRefused (nothing changed) or DatabaseUnavailable."""
    live = sqlite_path(db_or_url)
    checked = await asyncio.to_thread(_restore, live, Path(source))
    if not checked.current:
        db = db_or_url if isinstance(db_or_url, Database) else Database(db_or_url)
        try:
            await upgrade_to_head(db)
        except Exception as error:
            raise DatabaseUnavailable(
                f"the backup was restored into {live} but upgrading it failed: {error}"
            ) from error
        finally:
            if db is not db_or_url:
                await db.dispose()
    summary = await asyncio.to_thread(_live_summary, live)
    if summary is None:  # the file was just written: only a concurrent deletion gets here
        raise DatabaseUnavailable(f"{live} disappeared right after the restore")
    return Restored(backup=checked, database=summary)
