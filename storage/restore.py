"""Checked restores of a SQLite backup into the live database (backups: storage/backup.py).

The file is checked (SQLite header, integrity_check, an alembic_version this code knows) and then
copied into the live database with the same API in reverse: one write transaction on the live file, which
other connections wait for through their busy timeout and then see whole. Nothing is written on a refusal.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.backup import (
    SQLITE_MAGIC,
    BackupRefused,
    DatabaseUnavailable,
    Summary,
    integrity_problem,
    revisions_of,
    same_file,
    sqlite_path,
    summary_of,
)
from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database
from storage.migrate import head_revisions, known_revisions, upgrade_to_head


@dataclass(frozen=True)
class CheckedBackup:
    summary: Summary
    current: bool  # at this code's head(s); otherwise older, and a restore upgrades it


@dataclass(frozen=True)
class Restored:
    backup: CheckedBackup
    database: Summary  # the live database after the restore (and upgrade)


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
            problem = integrity_problem(connection)
        except sqlite3.DatabaseError as error:  # too damaged for the check to finish
            problem = str(error)
        if problem is not None:
            raise BackupRefused(f"{path} failed SQLite's integrity check: {problem}")
        revisions = revisions_of(connection)
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
        checked = CheckedBackup(summary=summary_of(connection, path), current=set(revisions) == heads)
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
        return summary_of(connection, live)
    except sqlite3.Error:
        return None
    finally:
        connection.close()


async def database_summary(db_or_url: Database | str) -> Summary | None:
    """The live database as it is now; None when its file does not exist or cannot be read."""
    return await asyncio.to_thread(_live_summary, sqlite_path(db_or_url))


def _restore(live: Path, source: Path) -> CheckedBackup:
    source = source.absolute()
    if same_file(source, live):
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
