"""Drive the real Application with fake Telegram updates and read what it sent back."""

from __future__ import annotations

import asyncio
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
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def set(self, value: datetime) -> None:
        self.current = value

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


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
