"""The real `python -m bot run` process for end-to-end tests, with its output read as it comes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.settings import PROJECT_ROOT
from tests.conftest import MERCHANT, TEST_TOKEN


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
