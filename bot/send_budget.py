"""One send budget for every message the bot sends, customer replies first.

Telegram allows about TELEGRAM_MAX_RATE messages per second over all chats, one per second in a chat and
20 per minute in a group; above that it answers 429 with retry_after. Replies and bulk sends (calls made
with `rate_limit_args=BULK`: the outbox) share that one budget, but not equally:

- A reply is sent at once. The limiter only writes it into the budget's window; it never waits for the
  bulk pace, for a broadcast in progress or for the overall limit (a burst of replies above Telegram's limit
  draws 429s, which are waited out and retried, rather than being throttled in advance). The one wait: a
  reply right after a bulk message to the same chat waits out the rest of that chat's second, as Telegram
  would refuse it anyway (and a 429 costs at least a second).
- A bulk send goes only when the sends of the last second, replies included, leave room for it and for
  REPLY_HEADROOM more replies; at most OUTREACH_RATE per second, one per second per chat and 20 per minute
  per group, counting replies to that chat. So the broadcast slows down as customers get busier.
- A 429 pauses bulk sends for retry_after; the refused request, reply or bulk, is sent again after
  retry_after, up to `max_retries` times (as PTB's AIORateLimiter does), then the RetryAfter is raised.

Requests without a chat (getUpdates, answerCallbackQuery, ...) are not counted. Time comes from `clock`
(monotonic() and sleep()): the real clock by default, a virtual one in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.clock import Clock

logger = logging.getLogger(__name__)

BULK: dict[str, Any] = {"bulk": True}
WINDOW = 1.0  # seconds over which the overall limit is counted
PER_CHAT_INTERVAL = 1.0
GROUP_MAX = 20
GROUP_WINDOW = 60.0
# Share of the overall limit bulk sends leave free for replies still to come in the current window:
# replies arrive unannounced, in bursts, and must not be the ones Telegram refuses.
REPLY_HEADROOM = 0.2
RETRY_MARGIN = 0.1  # seconds added to retry_after, as PTB's AIORateLimiter does
_FORGET_AFTER = 10_000  # chats remembered before those whose spacing has passed are forgotten


def retry_seconds(error: RetryAfter) -> float:
    value = error._retry_after  # always a timedelta, unlike the deprecated int-or-timedelta property
    return value.total_seconds()


def is_bulk(rate_limit_args: Any) -> bool:
    return isinstance(rate_limit_args, dict) and bool(rate_limit_args.get("bulk"))


def _chat_key(data: dict[str, Any]) -> int | str | None:
    chat_id = data.get("chat_id")
    if chat_id is None:
        return None
    with contextlib.suppress(ValueError, TypeError):
        return int(chat_id)
    return str(chat_id)  # "@channel"


def _is_group(chat: int | str) -> bool:
    return isinstance(chat, str) or chat < 0


class SendBudget:
    """The bookkeeping: sends of the last second, each chat's last send, each group's last minute."""

    def __init__(self, *, max_rate: float, bulk_rate: float, clock: Clock) -> None:
        self.clock = clock
        self.max_rate = max_rate
        # Bulk may fill the window up to this many sends (replies included), never below one.
        self.bulk_ceiling = max(1, int(max_rate * (1 - REPLY_HEADROOM)))
        self.bulk_interval = 1.0 / bulk_rate
        self.recent: deque[float] = deque()  # send times within the last WINDOW, oldest first
        self.chat_last: dict[int | str, float] = {}
        self.chat_last_bulk: dict[int | str, float] = {}
        self.groups: dict[int | str, deque[float]] = {}
        self.next_bulk = 0.0
        self.paused_until = 0.0

    def _trim(self, now: float) -> None:
        while self.recent and self.recent[0] <= now - WINDOW:
            self.recent.popleft()

    def record(self, chat: int | str | None, *, bulk: bool) -> None:
        """A send is starting now: count it."""
        if chat is None:
            return
        now = self.clock.monotonic()
        self._trim(now)
        self.recent.append(now)
        self.chat_last[chat] = now
        if bulk:
            self.chat_last_bulk[chat] = now
            self.next_bulk = now + self.bulk_interval
        if _is_group(chat):
            self.groups.setdefault(chat, deque()).append(now)
        if len(self.chat_last) > _FORGET_AFTER:
            self._forget(now)

    def _forget(self, now: float) -> None:
        self.chat_last = {c: at for c, at in self.chat_last.items() if at > now - PER_CHAT_INTERVAL}
        self.chat_last_bulk = {c: at for c, at in self.chat_last_bulk.items() if at > now - PER_CHAT_INTERVAL}
        self.groups = {c: q for c, q in self.groups.items() if q and q[-1] > now - GROUP_WINDOW}

    def reply_wait(self, chat: int | str | None) -> float:
        """Seconds a reply waits: only the rest of its chat's second after a bulk message there."""
        if chat is None or chat not in self.chat_last_bulk:
            return 0.0
        return max(0.0, self.chat_last_bulk[chat] + PER_CHAT_INTERVAL - self.clock.monotonic())

    def bulk_wait(self, chat: int | str | None, *, since: float | None = None) -> float:
        """Seconds until a bulk send to `chat` fits the budget as it stands now (0: send it).

        `since`: when this send began to wait. A chat's replies hold its bulk message back for at most one
        interval from then: a customer chatting more than once a second must not stop the broadcast
        (bulk sends go in order, so the whole queue would wait on that one chat)."""
        now = self.clock.monotonic()
        self._trim(now)
        at = max(now, self.paused_until, self.next_bulk)
        excess = len(self.recent) - (self.bulk_ceiling - 1)
        if excess > 0:  # wait until enough of the last second's sends have left the window
            at = max(at, self.recent[excess - 1] + WINDOW)
        if chat is not None:
            after_any = self.chat_last.get(chat, -PER_CHAT_INTERVAL) + PER_CHAT_INTERVAL
            if since is not None:
                after_any = min(after_any, since + PER_CHAT_INTERVAL)
            after_bulk = self.chat_last_bulk.get(chat, -PER_CHAT_INTERVAL) + PER_CHAT_INTERVAL
            at = max(at, after_any, after_bulk)
            group = self.groups.get(chat)
            if group is not None:
                while group and group[0] <= now - GROUP_WINDOW:
                    group.popleft()
                if len(group) >= GROUP_MAX:
                    at = max(at, group[len(group) - GROUP_MAX] + GROUP_WINDOW)
        return at - now

    def pause(self, seconds: float) -> None:
        """Telegram said 429: no bulk send until `seconds` from now."""
        self.paused_until = max(self.paused_until, self.clock.monotonic() + seconds)


class ReplyFirstRateLimiter(BaseRateLimiter[Any]):
    """PTB's rate limiter for the bot: one SendBudget, replies sent at once, bulk in what they leave."""

    def __init__(
        self,
        *,
        max_rate: float,
        bulk_rate: float,
        max_retries: int = 3,
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.budget = SendBudget(max_rate=max_rate, bulk_rate=bulk_rate, clock=self.clock)
        self.max_retries = max_retries
        # Bulk sends wait for the budget one at a time, in the order they asked: FIFO, and a waiting
        # bulk send re-checks the budget after every sleep, since replies may have taken its room.
        self._bulk_turn = asyncio.Lock()

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Any:
        bulk = is_bulk(rate_limit_args)
        retries = rate_limit_args if isinstance(rate_limit_args, int) else self.max_retries
        chat = _chat_key(data)
        for attempt in range(retries + 1):
            if bulk:
                await self._bulk_slot(chat)
            else:
                await self._sleep(self.budget.reply_wait(chat))
                self.budget.record(chat, bulk=False)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_seconds(error) + RETRY_MARGIN
                self.budget.pause(seconds)
                if attempt == retries:
                    logger.warning(
                        "Telegram flood limit: %s still refused after %d retries", endpoint, retries
                    )
                    raise
                logger.warning("Telegram flood limit: %s sent again in %.1f s", endpoint, seconds)
                if not bulk:  # a bulk retry waits for the pause in _bulk_slot
                    await self._sleep(seconds)
        raise AssertionError("unreachable")

    async def _bulk_slot(self, chat: int | str | None) -> None:
        async with self._bulk_turn:
            since = self.clock.monotonic()
            while (delay := self.budget.bulk_wait(chat, since=since)) > 0:
                await self.clock.sleep(delay)
            self.budget.record(chat, bulk=True)

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            await self.clock.sleep(seconds)
