"""Apply Alembic migrations from code (CLI `migrate`, start-up, tests) and write new ones (`db revision`)."""

from __future__ import annotations

import re
import tempfile
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table)
from storage.db import Database

# Inside the package (package data in pyproject.toml), so an installed bot migrates from any directory.
MIGRATIONS_DIR = Path(str(resources.files("storage.migrations")))


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def script_directory() -> ScriptDirectory:
    """The migrations this code ships, as Alembic reads them from storage/migrations/versions."""
    return ScriptDirectory.from_config(alembic_config())


def known_revisions() -> frozenset[str]:
    """Every revision id this code knows (a database at any of them can be upgraded to head)."""
    return frozenset(script.revision for script in script_directory().walk_revisions())


def head_revisions() -> frozenset[str]:
    """The revisions a fully migrated database is at: the one head (tests/test_migrations.py keeps it one)."""
    return frozenset(script_directory().get_heads())


def head_revision() -> str:
    """The one head of the migration history (`get_current_head` raises if there were several)."""
    head = script_directory().get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}")
    return head


async def upgrade_to_head(db: Database) -> None:
    """Bring the schema up to date: every database, at any earlier revision, ends at the one head."""
    config = alembic_config(db.url)

    def _upgrade(connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def current_revisions(db: Database) -> set[str]:
    """The revisions recorded in the database's alembic_version table (empty for a new database)."""

    def _read(connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with db.engine.connect() as connection:
        return await connection.run_sync(_read)


async def schema_drift(db: Database) -> list:
    """Differences between the migrated schema and the models; empty when migrations are complete."""

    def _compare(connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with db.engine.connect() as connection:
        return await connection.run_sync(_compare)


def next_revision_id() -> str:
    """The project numbers revisions 0100, 0200, …: the next free hundred after the highest one."""
    numbers = [int(rev) for rev in known_revisions() if re.fullmatch(r"\d{4}", rev)]
    return f"{(max(numbers, default=0) // 100 + 1) * 100:04d}"


async def write_revision(message: str, *, autogenerate: bool = True) -> Path:
    """Write a new migration file after the head. With autogenerate, Alembic compares the models with a
    scratch SQLite database migrated to head, so a contributor needs no database of their own."""
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite+aiosqlite:///{scratch}/revision.db")
        try:
            await upgrade_to_head(db)
            config = alembic_config(db.url)

            def _revision(connection) -> object:
                config.attributes["connection"] = connection
                return command.revision(
                    config, message=message, autogenerate=autogenerate, rev_id=next_revision_id()
                )

            async with db.engine.begin() as connection:
                script = await connection.run_sync(_revision)
        finally:
            await db.dispose()
    if not isinstance(script, Script):  # a list only for multiple heads, which the tests rule out
        raise RuntimeError(f"alembic wrote no single revision: {script!r}")
    return Path(script.path)
