"""One send budget for every message the bot sends, customer replies first.

Telegram allows about TELEGRAM_MAX_RATE messages per second over all chats, one per second in a chat and
20 per minute in a group; above that it answers 429 with retry_after. Replies and bulk sends (calls made
with `rate_limit_args=BULK`: the outbox) share that one budget, but not equally:

- A reply is sent at once. The limiter only writes it into the budget's window; it never waits for the
  bulk pace or for a broadcast in progress. Two waits, both for what Telegram would refuse anyway (and a
  429 costs at least a second): a reply right after a bulk message to the same chat waits out the rest of
  that chat's second, and a reply when the last second already holds TELEGRAM_MAX_RATE sends waits until
  the oldest leaves it (bulk sends leave REPLY_HEADROOM of the window to replies, so this is a burst of
  replies alone, and the wait a few ms).
- A bulk send goes only when the sends of the last second, replies included, leave room for it and for
  REPLY_HEADROOM more replies; at most OUTREACH_RATE per second, one per second per chat and 20 per minute
  per group, counting replies to that chat. So the broadcast slows down as customers get busier. A bulk
  send waiting for its own chat's second does so aside, letting the bulk sends to other chats go; one held
  back for a second by a customer who writes on is overdue, and that chat's next reply waits for it.
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
# Added to every spacing: a send is counted when it starts, Telegram counts it when it arrives, and arrival
# times jitter by a few ms (network, a busy event loop); without it a send timed to the limit may arrive
# just inside it and be refused.
SAFETY = 0.1
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


def _spaced(last: float | None) -> float:
    """When a chat whose last send started at `last` may get the next one."""
    return float("-inf") if last is None else last + PER_CHAT_INTERVAL + SAFETY


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
        self.bulk_due: dict[int | str, float] = {}  # chats whose bulk message is overdue (see chat_wait)
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
            self.bulk_due.pop(chat, None)
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
        """Seconds a reply waits: the rest of its chat's second after a bulk message there (or, while a bulk
        message to this chat is overdue, until it has gone: see chat_wait), and, when the last second
        already holds the overall limit's sends, until the oldest of them leaves it (what a 429 would cost
        at least a second for; at the limit the oldest send is a few ms from leaving)."""
        if chat is None:
            return 0.0
        now = self.clock.monotonic()
        self._trim(now)
        at = now
        if chat in self.bulk_due:
            at = max(_spaced(self.chat_last.get(chat)), now + SAFETY)
        if chat in self.chat_last_bulk:
            at = max(at, _spaced(self.chat_last_bulk[chat]))
        full = len(self.recent) - int(self.max_rate) + 1
        if full > 0:
            at = max(at, self.recent[full - 1] + WINDOW + SAFETY)
        return max(0.0, at - now)

    def chat_wait(self, chat: int | str | None, *, since: float) -> float:
        """Seconds until a bulk message may go to `chat` as far as that chat is concerned: a second after
        its last message, reply or bulk, and 20 a minute in a group. `since`: when this send began to wait.
        A customer chatting more than once a second would hold it back for good, so after one interval
        it is overdue: the chat's next replies wait until it has gone (a second at most)."""
        if chat is None:
            return 0.0
        now = self.clock.monotonic()
        at = max(_spaced(self.chat_last.get(chat)), _spaced(self.chat_last_bulk.get(chat)))
        if at > since + PER_CHAT_INTERVAL + SAFETY:  # held back past its one interval: overdue
            self.bulk_due.setdefault(chat, now)
        group = self.groups.get(chat)
        if group is not None:
            while group and group[0] <= now - GROUP_WINDOW:
                group.popleft()
            if len(group) >= GROUP_MAX:
                at = max(at, group[len(group) - GROUP_MAX] + GROUP_WINDOW)
        return max(0.0, at - now)

    def bulk_wait(self) -> float:
        """Seconds until the next bulk send fits the budget over all chats: the bulk rate, a 429's pause,
        and the room replies leave in the last second."""
        now = self.clock.monotonic()
        self._trim(now)
        at = max(now, self.paused_until, self.next_bulk)
        excess = len(self.recent) - (self.bulk_ceiling - 1)
        if excess > 0:  # wait until enough of the last second's sends have left the window
            at = max(at, self.recent[excess - 1] + WINDOW + SAFETY)
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
            else:  # checked again after every sleep: other replies may have taken the room meanwhile
                while (delay := self.budget.reply_wait(chat)) > 0:
                    await self.clock.sleep(delay)
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
        """Wait for this bulk send's turn. Its own chat's spacing is waited out first, outside the turn, so
        a chat that had a message a moment ago does not hold up the bulk sends to every other chat."""
        since = self.clock.monotonic()
        while True:
            while (delay := self.budget.chat_wait(chat, since=since)) > 0:
                await self.clock.sleep(delay)
            async with self._bulk_turn:
                while (delay := self.budget.bulk_wait()) > 0:
                    await self.clock.sleep(delay)
                if self.budget.chat_wait(chat, since=since) == 0:  # no reply to it took the slot meanwhile
                    self.budget.record(chat, bulk=True)
                    return

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            await self.clock.sleep(seconds)
