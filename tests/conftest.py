"""Fixtures: a migrated database on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set),
the fake Bot API, and the real application wired to both."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pickle
import shutil
import sys
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
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


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """In parallel by default: `-n auto` (one xdist worker per core) unless -n was given or xdist is off
    (`-p no:xdist`)."""
    if hasattr(config, "workerinput"):
        return
    _cache_bytecode(config)
    if not config.pluginmanager.hasplugin("xdist"):
        return
    if config.option.numprocesses is None:
        config.option.numprocesses = "auto"


def _cache_bytecode(config: pytest.Config) -> None:
    """With PYTHONDONTWRITEBYTECODE set, every xdist worker and every `python -m bot` the tests start
    would compile the project's modules (and pytest rewrite every test module) again: seconds of CPU per
    worker. The session lets them write their bytecode (to __pycache__, which .gitignore leaves out), so
    it is compiled once; the workers and bot processes inherit the environment."""
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        sys.dont_write_bytecode = False


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


def worker_database_url(base_url: str, worker: str) -> str:
    """The URL of this xdist worker's own database on the server of `base_url`: `<dbname>_<worker>`."""
    url = make_url(base_url)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


async def _create_or_drop(base_url: str, name: str, *, create: bool) -> None:
    # CREATE/DROP DATABASE run outside a transaction, from a connection to the base database.
    engine = create_async_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The migrated PostgreSQL database: TEST_DATABASE_URL's own when the suite runs in one process;
    under pytest-xdist each worker creates `<dbname>_gw<N>` on that server (and drops it at the end), so
    workers never empty each other's tables."""
    assert PG_URL is not None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        asyncio.run(_migrate(PG_URL, reset_pg=True))
        yield PG_URL
        return
    url = worker_database_url(PG_URL, worker)
    name = make_url(url).database
    asyncio.run(_create_or_drop(PG_URL, name, create=True))
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        asyncio.run(_create_or_drop(PG_URL, name, create=False))


BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(PG_URL is None, reason="TEST_DATABASE_URL is not set"),
    ),
]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a migrated database on each backend (the `db` fixture also empties PostgreSQL)."""
    if request.param == "sqlite":
        path = tmp_path / "engagement.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    return request.getfixturevalue("postgres_url")


def _empty_tables_script() -> str:
    # Deleting (children first) and restarting every sequence leaves what TRUNCATE ... RESTART IDENTITY
    # CASCADE leaves, several times faster for the few rows a test writes: TRUNCATE makes new files.
    deletes = [f'DELETE FROM "{table.name}";' for table in reversed(SQLModel.metadata.sorted_tables)]
    restart = (
        "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'S' AND n.nspname = current_schema();"
    )
    return "\n".join([*deletes, restart])


async def _truncate_all(db: Database) -> None:
    script = _empty_tables_script()
    async with db.engine.begin() as connection:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.execute(script)  # one round trip for the whole script


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    if not database.is_sqlite:
        await _truncate_all(database)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """Validated once (reading the environment costs ~15 ms); every test gets its own copy."""
    return Settings(
        _env_file=None,
        bot_token=TEST_TOKEN,
        database_url="sqlite+aiosqlite:///unused.db",
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
def settings(base_settings: Settings, db_url: str) -> Settings:
    """The test's own settings (tests may change them), on the test's database."""
    return base_settings.model_copy(update={"database_url": db_url}, deep=True)


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


@pytest.fixture(scope="session", params=BACKENDS)
def polling_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One real polling bot, restarted once, that the end-to-end tests needing just that share
    (tests/e2e_support.py:polling_run), on its own database, emptied first. Under xdist the first worker
    that needs it runs it and the others read its record (a file lock in the session's shared temp dir),
    so the bot starts as few times as on one process."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return _polling_run(request, tmp_path_factory)
    shared = tmp_path_factory.getbasetemp().parent  # one per session, shared by its workers
    record = shared / f"polling-run-{request.param}.pickle"
    with open(shared / f"polling-run-{request.param}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            run = _polling_run(request, tmp_path_factory)
            if run.failure is not None:  # exceptions do not all pickle; their text does
                run.failure = AssertionError("".join(traceback.format_exception(run.failure)))
            record.write_bytes(pickle.dumps(run))
        return pickle.loads(record.read_bytes())  # noqa: S301  (written just above, by this session)


def _polling_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    from tests.e2e_support import polling_run  # noqa: PLC0415  (e2e_support imports this module)

    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("polling-run") / "engagement.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")

    async def empty_then_run():
        if request.param != "sqlite":
            database = Database(url)
            try:
                await _truncate_all(database)
            finally:
                await database.dispose()
        return await polling_run(url)

    return asyncio.run(empty_then_run())
