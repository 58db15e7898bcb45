"""The baseline for bench/send_budget.py: the rate limiter as shipped before the one send budget
(bot/outreach/pacing.py until then), kept verbatim so the bench can measure it in the same run.

Pacing bulk sends under Telegram's flood limits without ever holding up a customer's reply.

Bulk sends (the outbox) are marked with `rate_limit_args=BULK`. This rate limiter paces those itself: a
global rate (OUTREACH_RATE per second) and at most one per second per chat; a 429 pauses every bulk send
for retry_after and the request is tried again. Everything else (replies to customers, merchant progress
edits) takes PTB's AIORateLimiter path, which bulk traffic never occupies, so replies are never queued
behind a broadcast.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot.clock import Clock
from bot.send_budget import retry_seconds

logger = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0


class Pacer:
    """Hands out send slots: `rate` per second overall, one per `per_chat` seconds per chat.

    A slot is reserved before sleeping, so concurrent callers queue in order without a lock. Time comes
    from `clock` (monotonic() and sleep()): the real clock by default, a virtual one in tests.
    """

    def __init__(
        self, rate: float, per_chat: float = PER_CHAT_INTERVAL, *, clock: Clock | None = None
    ) -> None:
        self.clock = clock or Clock()
        self.interval = 1.0 / rate
        self.per_chat = per_chat
        self.next_slot = 0.0
        self.paused_until = 0.0
        self.chat_next: dict[Any, float] = {}

    def reserve(self, chat_id: Any) -> float:
        """Seconds to wait before sending to `chat_id`."""
        now = self.clock.monotonic()
        slot = max(now, self.next_slot, self.paused_until, self.chat_next.get(chat_id, 0.0))
        self.next_slot = slot + self.interval
        self.chat_next[chat_id] = slot + self.per_chat
        if len(self.chat_next) > 10_000:  # forget chats whose spacing has passed
            self.chat_next = {chat: at for chat, at in self.chat_next.items() if at > now}
        return slot - now

    async def wait(self, chat_id: Any) -> None:
        delay = self.reserve(chat_id)
        if delay > 0:
            await self.clock.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Telegram said 429: no bulk send until `seconds` from now."""
        self.paused_until = max(self.paused_until, self.clock.monotonic() + seconds)


class BulkAwareRateLimiter(AIORateLimiter):
    """AIORateLimiter for ordinary requests; requests marked BULK are paced by a Pacer instead."""

    def __init__(
        self, *, bulk_rate: float, bulk_retries: int = 3, clock: Clock | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.pacer = Pacer(bulk_rate, clock=clock)
        self.bulk_retries = bulk_retries

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Any:
        if not (isinstance(rate_limit_args, dict) and rate_limit_args.get("bulk")):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        chat_id = data.get("chat_id")
        for attempt in range(self.bulk_retries + 1):
            await self.pacer.wait(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_seconds(error)
                logger.warning("Telegram flood limit: bulk sends pause for %.1f s", seconds)
                self.pacer.pause(seconds + 0.1)
                if attempt == self.bulk_retries:
                    raise
        raise AssertionError("unreachable")
