"""The real `python -m bot run` process for end-to-end tests, with its output read as it comes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database
from tests.conftest import MERCHANT, PROJECT_ROOT, TEST_TOKEN
from tests.fakes import updates
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_server import FakeBotApiServer
from tests.fakes.updates import TgUser
from tests.faq_support import JOHN, relayed_ids, staff_reply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BotProcess:
    """A running bot. Its output (stdout and stderr) is read continuously, so the pipe never fills up and
    blocks the bot, and a test can wait for a log line instead of polling."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output: list[str] = []
        self._new_line = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.output.append(line.decode(errors="replace").rstrip("\n"))
            self._new_line.set()
        self._new_line.set()

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def send_signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    async def wait(self) -> int:
        code = await self.process.wait()
        await self._reader
        return code

    async def until_output(self, needle: str, timeout: float = 30) -> str:
        """The first output line containing `needle`, waiting for it if need be (event-driven)."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for line in self.output[seen:]:
                    if needle in line:
                        return line
                seen = len(self.output)
                if self._reader.done():
                    raise AssertionError(f"the bot exited without printing {needle!r}: {self.output}")
                self._new_line.clear()
                await self._new_line.wait()


@asynccontextmanager
async def bot_process(api_url: str, db_url: str, *args: str, **env: str) -> AsyncIterator[BotProcess]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PORT", "WEBHOOK_URL", "WEBHOOK_SECRET")
    }
    environment.update(
        BOT_TOKEN=TEST_TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=db_url,
        MERCHANT_IDS=str(MERCHANT.id),
        SHOP_NAME="Loopback Shop",
        DEFAULT_LOCALE="en",
        **env,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        *args,
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    bot = BotProcess(process)
    try:
        yield bot
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(bot.wait(), 20)
            except TimeoutError:
                process.kill()
                await bot.wait()


# --- one polling bot, restarted once, shared by the end-to-end tests that need nothing else ---------------

ARABIC_USER = TgUser(id=7101, first_name="ليلى", language_code="ar")
ENGLISH_USER = TgUser(id=7102, first_name="Lee", language_code="en")


async def replies_to(api: FakeBotApi, user: TgUser) -> str:
    call = await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == user.id, timeout=30)
    return call.text or ""


async def text_to(api: FakeBotApi, chat_id: int, needle: str) -> str:
    call = await api.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == chat_id and needle in (c.text or ""), timeout=30
    )
    return call.text or ""


async def stop(process: BotProcess) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 20)


@dataclass
class PollingRun:
    """What a polling `python -m bot run`, stopped with SIGTERM and started again, was seen to do.

    Starting the bot costs seconds, so the tests that need only a polling bot share one run (per database)
    and each asserts on what it needs: the welcome test on the first process, the hand-off test on both.
    A step that failed leaves the later values missing, and asking for one raises that failure.
    """

    seen: dict[str, Any] = field(default_factory=dict)
    failure: BaseException | None = None

    def __getitem__(self, key: str) -> Any:
        if key not in self.seen:
            raise AssertionError(f"the shared polling bot run stopped before {key!r}") from self.failure
        return self.seen[key]


async def polling_run(db_url: str) -> PollingRun:
    run = PollingRun()
    seen = run.seen
    api = FakeBotApi()
    try:
        async with FakeBotApiServer(api) as server:
            async with bot_process(server.url, db_url) as process:
                # Welcome in Arabic and English (test_e2e).
                api.push_update(updates.command(ARABIC_USER, "/start"))
                api.push_update(updates.command(ENGLISH_USER, "/start"))
                seen["arabic"] = await replies_to(api, ARABIC_USER)
                seen["english"] = await replies_to(api, ENGLISH_USER)
                seen["tokens_seen"] = set(server.tokens_seen)
                seen["menus"] = api.sent("setMyCommands")
                # A customer asks for a person (test_handoff_e2e).
                api.push_update(updates.command(JOHN, "/start"))
                seen["john_welcome"] = await text_to(api, JOHN.id, "Welcome")
                api.push_update(updates.message(JOHN, "I want to talk to a human"))
                seen["alert"] = await text_to(api, MERCHANT.id, "Conversation #1")
                seen["handed_off"] = await text_to(api, JOHN.id, "passed your question to our team")
                seen["first_exit"] = await stop(process)
            db = Database(db_url)
            try:
                seen["relayed"] = await relayed_ids(db, MERCHANT.id)
            finally:
                await db.dispose()
            (relayed,) = seen["relayed"]
            # After the restart the staff answer, the customer writes again, the staff close it.
            async with bot_process(server.url, db_url) as process:
                api.push_update(staff_reply(MERCHANT, relayed, "Hello John, how can we help?"))
                seen["copy"] = await api.wait_for(
                    lambda c: c.method == "copyMessage" and c.chat_id == JOHN.id, timeout=30
                )
                api.push_update(updates.message(JOHN, "My order 1042 is late"))
                seen["relayed_text"] = await text_to(api, MERCHANT.id, "💬")
                api.push_update(staff_reply(MERCHANT, relayed, "/close"))
                seen["closed_to_customer"] = await text_to(api, JOHN.id, "closed this conversation")
                seen["closed_to_staff"] = await text_to(api, MERCHANT.id, "Conversation #1 is closed")
                seen["second_exit"] = await stop(process)
    except Exception as error:  # the tests that need the missing values report it
        run.failure = error
    return run
