"""End to end: the real `python -m bot run` process against a loopback fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import sys

import aiohttp
import pytest

from tests.conftest import MERCHANT, PROJECT_ROOT, TEST_TOKEN
from tests.e2e_support import ENGLISH_USER, bot_process, free_port, replies_to
from tests.fakes import updates
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_server import FakeBotApiServer


def test_polling_bot_welcomes_arabic_and_english_users(polling_run):
    """On the polling bot that tests/e2e_support.py:polling_run starts (the hand-off test shares it)."""
    arabic, english = polling_run["arabic"], polling_run["english"]
    assert "أهلًا بك في" in arabic and "ليلى" in arabic and "Loopback Shop" in arabic
    assert "Welcome to Loopback Shop, Lee!" in english
    assert polling_run["tokens_seen"] == {TEST_TOKEN}
    menus = polling_run["menus"]
    assert {call.params.get("language_code") for call in menus} >= {"en", "ar"}
    assert any(call.params.get("scope", {}).get("chat_id") == MERCHANT.id for call in menus)
    assert polling_run["first_exit"] == 0  # SIGTERM: a clean stop


async def test_webhook_bot_checks_the_secret_token(db, db_url):
    api = FakeBotApi()
    port = free_port()
    async with (
        FakeBotApiServer(api) as server,
        bot_process(
            server.url,
            db_url,
            "--webhook",
            PORT=str(port),
            WEBHOOK_URL="https://shop.example",
            WEBHOOK_SECRET="s3cret-token",
        ) as bot,
        aiohttp.ClientSession() as http,
    ):
        registration = await api.wait_for(lambda c: c.method == "setWebhook", timeout=30)
        assert registration.params["url"] == "https://shop.example/telegram"
        assert registration.params["secret_token"] == "s3cret-token"
        url = f"http://127.0.0.1:{port}/telegram"
        await bot.until_output("is running (webhook)")  # the HTTP server started before this line
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
        update = {"update_id": 1, **updates.command(ENGLISH_USER, "/start")}
        async with http.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as response:
            assert response.status == 401
        async with http.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
        ) as response:
            assert response.status == 200
        assert "Welcome to Loopback Shop" in await replies_to(api, ENGLISH_USER)
        assert len(api.sent("sendMessage", chat_id=ENGLISH_USER.id)) == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOT_TOKEN": ""}, "BOT_TOKEN"),
        ({"MERCHANT_IDS": "12,abc"}, "MERCHANT_IDS"),
        ({"SHOP_TIMEZONE": "Mars/Olympus"}, "SHOP_TIMEZONE"),
        ({"DEFAULT_LOCALE": "fr"}, "DEFAULT_LOCALE"),
    ],
)
async def test_bad_settings_exit_2_with_one_line_naming_the_setting(env, message, tmp_path):
    environment = {k: v for k, v in os.environ.items() if k not in ("PORT", "BOT_TOKEN")}
    environment.update(BOT_TOKEN=TEST_TOKEN, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    environment.update(env)
    if environment["BOT_TOKEN"] == "":
        del environment["BOT_TOKEN"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=environment | {"PYTHONPATH": str(PROJECT_ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 2
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in lines[0]


async def test_migrate_command_creates_the_schema(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k != "PORT"}
    environment.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/fresh.db", PYTHONPATH=str(PROJECT_ROOT))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert "up to date" in stdout.decode()
    assert (tmp_path / "fresh.db").stat().st_size > 0
