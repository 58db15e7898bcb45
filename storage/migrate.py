"""Apply Alembic migrations from code (CLI `migrate`, bot start-up, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table)
from storage.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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
    """The revision(s) a fully migrated database is at: one head, or several while feature heads await
    a merge migration."""
    return frozenset(script_directory().get_heads())


async def upgrade_to_head(db: Database) -> None:
    """Bring the schema up to date. Feature branches may add parallel heads; all are applied."""
    config = alembic_config(db.url)

    def _upgrade(connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")

    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def schema_drift(db: Database) -> list:
    """Differences between the migrated schema and the models; empty when migrations are complete."""

    def _compare(connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with db.engine.connect() as connection:
        return await connection.run_sync(_compare)
