"""Malformed settings stop the bot with one line naming the setting and exit code 2, never a traceback."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from bot.settings import SettingsError, load_settings
from tests.conftest import PG_URL, PROJECT_ROOT, TEST_TOKEN
from tests.fakes.bot_api import ApiError, FakeBotApi
from tests.fakes.bot_api_server import FakeBotApiServer


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql+psycopg2://u@localhost/shop"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://u@localhost/shop"}, "DATABASE_URL"),
        ({"BOT_TOKEN": "my bot token"}, "BOT_TOKEN"),
        ({"WEBHOOK_SECRET": "has spaces!"}, "WEBHOOK_SECRET"),
        ({"LOYALTY_MAX_ORDER_AMOUNT": "100000000"}, "LOYALTY_MAX_ORDER_AMOUNT"),
        (
            {"LOYALTY_MAX_ORDER_AMOUNT": "20000000", "LOYALTY_POINTS_PER_UNIT": "1000"},
            "LOYALTY_MAX_ORDER_AMOUNT",
        ),
    ],
)
def test_malformed_settings_name_the_setting(env, setting):
    with pytest.raises(SettingsError, match=setting):
        load_settings(_env_file=None, **{key.lower(): value for key, value in env.items()})


def test_database_urls_as_hosts_give_them_use_the_async_drivers():
    for given, expected in [
        ("postgres://u:p@db:5432/shop", "postgresql+asyncpg://u:p@db:5432/shop"),
        ("postgresql://u@db/shop", "postgresql+asyncpg://u@db/shop"),
        ("sqlite:///shop.db", "sqlite+aiosqlite:///shop.db"),
        ("sqlite+aiosqlite:///shop.db", "sqlite+aiosqlite:///shop.db"),
    ]:
        assert load_settings(_env_file=None, database_url=given).database_url == expected
    assert load_settings(_env_file=None, log_level="debug").log_level == "DEBUG"


async def run_bot(tmp_path, *command: str, **env: str) -> tuple[int, list[str]]:
    environment = {k: v for k, v in os.environ.items() if k not in ("PORT", "LOG_LEVEL", "WEBHOOK_URL")}
    environment.update(
        BOT_TOKEN=TEST_TOKEN,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        PYTHONPATH=str(PROJECT_ROOT),
    )
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *command,
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stderr.decode().strip().splitlines()


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"DATABASE_URL": "postgresql+psycopg2://u@h/db"}, "DATABASE_URL"),
    ],
)
async def test_migrate_with_a_bad_setting_exits_2_with_one_line(tmp_path, env, setting):
    code, lines = await run_bot(tmp_path, "migrate", **env)
    assert code == 2
    assert len(lines) == 1 and setting in lines[0] and "Traceback" not in lines[0]


async def test_a_token_telegram_rejects_exits_2_with_one_line(tmp_path):
    api = FakeBotApi()
    api.fail("getMe", ApiError(401, "Unauthorized"), times=5)
    async with FakeBotApiServer(api) as server:
        code, lines = await run_bot(tmp_path, "run", TELEGRAM_API_URL=server.url)
    assert code == 2
    assert len(lines) == 1 and "BOT_TOKEN" in lines[0] and "rejected" in lines[0]


@pytest.mark.parametrize("command", ["migrate", "run", "import-orders"])
async def test_a_database_that_cannot_be_opened_is_one_line_naming_database_url(tmp_path, command):
    args = [command] if command != "import-orders" else []
    code, lines = await run_bot(
        tmp_path,
        *(args or [command, str(tmp_path / "orders.csv")]),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/missing-folder/shop.db",
    )
    assert code == 1
    assert len(lines) == 1 and "DATABASE_URL" in lines[0] and "Traceback" not in lines[0]


@pytest.mark.skipif(PG_URL is None, reason="TEST_DATABASE_URL is not set")
async def test_a_postgresql_database_that_does_not_exist_is_one_line(tmp_path):
    missing = PG_URL.rsplit("/", 1)[0] + "/no_such_database_for_this_test"
    code, lines = await run_bot(tmp_path, "migrate", DATABASE_URL=missing)
    assert code == 1
    assert len(lines) == 1 and "DATABASE_URL" in lines[0] and "no_such_database_for_this_test" in lines[0]
