"""Alembic environment: runs on the connection storage.migrate hands over, or opens its own (the `alembic`
command line, with alembic.ini at the repository root; the database is DATABASE_URL, as for the bot)."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on the metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_on_connection(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run_on_connection)
    await engine.dispose()


def database_url() -> str:
    # The bot passes its URL; the alembic command line reads DATABASE_URL like the bot's default does.
    return config.get_main_option("sqlalchemy.url") or os.environ.get(
        "DATABASE_URL", "sqlite+aiosqlite:///engagement.db"
    )


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    run_on_connection(connection)
else:
    asyncio.run(run_with_own_engine(database_url()))
