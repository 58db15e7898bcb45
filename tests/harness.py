"""Drive the real Application with fake Telegram updates and read what it sent back."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.clock import Clock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.updates import TgUser

_update_ids = itertools.count(1)


class FakeClock(Clock):
    """A clock the test moves by hand, with virtual time for pacing.

    Wall time (`now()`) moves only when the test sets or advances it. Pacing time (`monotonic()`, seconds
    from 0) moves only through `sleep()`: a sleeper is woken as soon as the event loop has run what was
    ready, and the clock jumps to its wake-up time, sleepers in order of wake-up time. So pacing never
    really waits, and tests assert the exact virtual seconds it took. `hold_pacing()` makes sleepers wait
    until `resume_pacing()`, to look at the application while bulk sends are waiting for their slot.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
        self.elapsed = 0.0
        self.sleeps: list[float] = []  # every pacing sleep asked for, in seconds, in order
        self.held = False
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._waking = False
        self._changed = asyncio.Event()

    def now(self) -> datetime:
        return self.current

    def set(self, value: datetime) -> None:
        self.current = value

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    # --- pacing: virtual monotonic time -------------------------------------------------------------
    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self.elapsed + max(seconds, 0.0), next(self._order), future))
        self._changed.set()
        self._wake_soon(loop)
        await future

    @property
    def sleeping(self) -> int:
        """How many pacing sleeps are waiting now."""
        return sum(not future.done() for _, _, future in self._sleepers)

    async def until_sleeping(self, count: int = 1) -> None:
        """Wait (event-driven, no polling) until at least `count` pacing sleeps are waiting."""
        while self.sleeping < count:
            self._changed.clear()
            await self._changed.wait()

    def hold_pacing(self) -> None:
        self.held = True

    def resume_pacing(self) -> None:
        self.held = False
        self._wake_soon(asyncio.get_running_loop())

    def _wake_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._waking and not self.held and self._sleepers:
            self._waking = True
            loop.call_soon(self._wake_next, loop)

    def _wake_next(self, loop: asyncio.AbstractEventLoop) -> None:
        self._waking = False
        if self.held:
            return
        while self._sleepers:
            wake_at, _, future = heapq.heappop(self._sleepers)
            if not future.done():  # a cancelled sleeper just leaves
                self.elapsed = max(self.elapsed, wake_at)
                future.set_result(None)
                break
        self._wake_soon(loop)


class Harness:
    """The application under test plus the fake Bot API it talks to."""

    def __init__(self, app: Application, api: FakeBotApi, clock: FakeClock) -> None:
        self.app = app
        self.api = api
        self.clock = clock
        self.errors: list[BaseException] = []

        async def record_error(update: object, context: Any) -> None:
            self.errors.append(context.error)

        app.add_error_handler(record_error)

    @property
    def db(self):
        return self.app.bot_data["db"]

    async def send(self, update: dict[str, Any], *, allow_errors: bool = False) -> None:
        """Process one update as the running bot would; fail the test if a handler raised."""
        before = len(self.errors)
        await self.submit(update)
        if not allow_errors and len(self.errors) > before:
            raise self.errors[-1]

    def submit(self, update: dict[str, Any]) -> asyncio.Task[None]:
        """Start processing one update the way the running Application does: in a task of its own, through
        the application's update processor (which orders it behind earlier updates of its chat and user)."""
        parsed = Update.de_json({"update_id": next(_update_ids), **update}, self.app.bot)
        return asyncio.create_task(
            self.app.update_processor.process_update(parsed, self.app.process_update(parsed))
        )

    def texts_to(self, user: TgUser | int) -> list[str]:
        chat_id = user if isinstance(user, int) else user.id
        return [call.text or "" for call in self.api.calls if call.chat_id == chat_id and call.text]

    def last_text_to(self, user: TgUser | int) -> str:
        return self.api.last_text(user if isinstance(user, int) else user.id)

    def last_markup_to(self, user: TgUser | int) -> dict[str, Any] | None:
        chat_id = user if isinstance(user, int) else user.id
        for call in reversed(self.api.calls):
            if call.chat_id == chat_id and "reply_markup" in call.params:
                return call.params["reply_markup"]
        return None

    def buttons_to(self, user: TgUser | int) -> list[tuple[str, str]]:
        """(label, callback_data or url) of the inline keyboard most recently sent to this chat."""
        markup = self.last_markup_to(user) or {}
        return [
            (button["text"], button.get("callback_data") or button.get("url", ""))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]
