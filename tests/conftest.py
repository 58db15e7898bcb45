"""Fixtures: a migrated database on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set),
the fake Bot API, and the real application wired to both."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.app import build_application
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade_to_head
from tests.fakes.bot_api import FakeBotApi, FakeRequest
from tests.fakes.updates import TgUser
from tests.harness import FakeClock, Harness

# The checkout under test (subprocess tests run `python -m bot` from it).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL")
TEST_TOKEN = "123456:TEST-TOKEN"
MERCHANT = TgUser(id=900001, first_name="Mona", language_code="en")


async def _migrate(url: str, *, reset_pg: bool = False) -> None:
    db = Database(url)
    try:
        if reset_pg:
            async with db.engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await upgrade_to_head(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    assert PG_URL is not None
    asyncio.run(_migrate(PG_URL, reset_pg=True))
    return PG_URL


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(PG_URL is None, reason="TEST_DATABASE_URL is not set"),
        ),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a migrated database on each backend (the `db` fixture also empties PostgreSQL)."""
    if request.param == "sqlite":
        path = tmp_path / "engagement.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    return request.getfixturevalue("postgres_url")


async def _truncate_all(db: Database) -> None:
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    async with db.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    if not database.is_sqlite:
        await _truncate_all(database)
    yield database
    await database.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=TEST_TOKEN,
        database_url=db_url,
        telegram_api_url="http://telegram.invalid",
        merchant_ids=(MERCHANT.id,),
        shop_name="Test Shop",
        shop_timezone="UTC",
        default_locale="en",
        currency="USD",
        port=None,
        webhook_url=None,
    )


@pytest.fixture
def bot_api() -> FakeBotApi:
    return FakeBotApi()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def harness(
    settings: Settings, db: Database, bot_api: FakeBotApi, clock: FakeClock
) -> AsyncIterator[Harness]:
    """The real application, initialized (post_init run) against the fake Bot API."""
    application = build_application(settings, request=FakeRequest(bot_api), db=db, clock=clock, migrate=False)
    await application.initialize()
    await application.post_init(application)
    try:
        yield Harness(application, bot_api, clock)
    finally:
        await application.shutdown()
        await application.post_shutdown(application)
