"""`python -m bot backup FILE [--force]` and `python -m bot restore FILE [--yes]`: SQLite files through the
online backup API (storage.backup); PostgreSQL gets the pg_dump / pg_restore commands (docs/operations.md)."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import TextIO

from sqlalchemy.engine import make_url

from bot.settings import Settings
from storage import backup as store
from storage import restore as restoring
from storage.migrate import head_revisions

EXIT_REFUSED = 2
EXIT_NO_DATABASE = 1

PG_DUMP = 'pg_dump --format=custom --no-owner "$URL" -f engagement.dump'
PG_RESTORE = 'pg_restore --clean --if-exists --no-owner -d "$URL" engagement.dump'


def postgres_hint(database_url: str, command: str) -> str:
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=True)
    tool = PG_DUMP if command == "backup" else PG_RESTORE
    return (
        f"error: {command} works on SQLite files and DATABASE_URL is PostgreSQL; run {tool} instead, "
        f"with URL={url} (DATABASE_URL without +asyncpg; see docs/operations.md)"
    )


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


def revision_text(revisions: tuple[str, ...], *, current: bool | None = None) -> str:
    text = "revision " + (", ".join(revisions) or "none")
    if current is True:
        text += " (this code's head)"
    elif current is False:
        text += " (older than this code's head; restore upgrades it)"
    return text


def describe(summary: store.Summary, *, current: bool | None = None) -> str:
    parts = [size_text(summary.size), revision_text(summary.revisions, current=current)]
    for count, noun in ((summary.customers, "customers"), (summary.orders, "orders")):
        parts.append(f"no {noun} table" if count is None else f"{count} {noun}")
    return ", ".join(parts)


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _no_database(error: store.DatabaseUnavailable) -> int:
    _error(f"cannot open the database at DATABASE_URL: {error}")
    return EXIT_NO_DATABASE


def backup_command(settings: Settings, file: str, *, force: bool) -> int:
    try:
        summary = asyncio.run(store.backup_sqlite(settings.database_url, target=file, force=force))
    except store.NotSqlite:
        print(postgres_hint(settings.database_url, "backup"), file=sys.stderr)
        return EXIT_REFUSED
    except store.BackupRefused as error:
        _error(f"backup refused: {error}")
        return EXIT_REFUSED
    except store.DatabaseUnavailable as error:
        return _no_database(error)
    source = store.sqlite_path(settings.database_url)
    current = True if set(summary.revisions) == head_revisions() else None
    print(f"backup of {source} written to {summary.path}: {describe(summary, current=current)}")
    return 0


def _confirmed(prompt: str, stdin: TextIO) -> bool:
    print(prompt, end="", flush=True)
    try:
        answer = stdin.readline()
    except (EOFError, KeyboardInterrupt):
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def restore_command(settings: Settings, file: str, *, yes: bool, stdin: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    url = settings.database_url
    try:
        live = store.sqlite_path(url)
        checked = asyncio.run(restoring.check_backup(file))
    except store.NotSqlite:
        print(postgres_hint(url, "restore"), file=sys.stderr)
        return EXIT_REFUSED
    except store.BackupRefused as error:
        _error(f"restore refused: {error}")
        return EXIT_REFUSED
    if not yes:
        if not stdin.isatty():
            _error("restore refused: it replaces the live database; confirm on a terminal or pass --yes")
            return EXIT_REFUSED
        now = asyncio.run(restoring.database_summary(url))
        backup = checked.summary
        saved = datetime.fromtimestamp(backup.path.stat().st_mtime).astimezone().isoformat(" ", "minutes")
        prompt = (
            f"Backup {backup.path} (saved {saved}): {describe(backup, current=checked.current)}\n"
            f"Database {live}: {describe(now) if now else 'does not exist yet'}\n"
            "Replace the database with the backup? Everything written since the backup is lost. [y/N] "
        )
        if not _confirmed(prompt, stdin):
            _error("restore cancelled; nothing was changed")
            return EXIT_REFUSED
    try:
        restored = asyncio.run(restoring.restore_sqlite(url, source=file))
    except store.BackupRefused as error:  # the file changed since it was checked
        _error(f"restore refused: {error}")
        return EXIT_REFUSED
    except store.DatabaseUnavailable as error:
        return _no_database(error)
    backup = restored.backup.summary
    upgraded = "" if restored.backup.current else f", upgraded from {', '.join(backup.revisions)}"
    print(f"restored {backup.path} into {live}{upgraded}: {describe(restored.database, current=True)}")
    return 0
