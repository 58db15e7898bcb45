"""OrderedUpdateProcessor: updates of different chats run at the same time, each chat's and each user's
in the order they arrived.

Application hands every update to the processor in its own task, in arrival order (`__update_fetcher`
creates the tasks one by one and each reaches `do_process_update` without yielding). There the update
takes its place, synchronously, at the end of one FIFO queue per ordering key: its chat id and its user id
(Telegram gives a private chat the user's id and groups and channels negative ids, so one number space
holds both, and a private chat is one key). An update runs when it is first in every one of its queues and
leaves them when its handler has finished, so two updates that share a key never overlap and the earlier
one runs first. The oldest waiting update is always first in all its queues, so nothing can wait forever.

Waiting for an earlier update of the same chat or user takes no place in the bound: UPDATE_CONCURRENCY
(`max_running`) counts only handlers that are running, so one chat's backlog (an album, a burst of taps,
a merchant's slow /export) never holds up other chats. Updates with neither chat nor user (poll updates,
anything that is not an Update) only take their place in the bound. A key's queue is dropped as soon as it
is empty, so the maps hold only keys that have an update waiting or running.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections import deque
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.unit_of_work import finish_current_unit

# PTB's own limit (`BaseUpdateProcessor.max_concurrent_updates`) is taken before an update is ordered, so it
# would also count updates that only wait for their chat: a chat with that many pending updates would stall
# every other chat. It is set out of reach (Application keeps one task per pending update either way), and
# `max_running` bounds the handlers instead.
_NO_ADMISSION_LIMIT = sys.maxsize


def ordering_keys(update: object) -> tuple[int, ...]:
    """The ids whose updates must run one at a time in arrival order: the chat's and the user's."""
    if not isinstance(update, Update):
        return ()
    keys: list[int] = []
    if update.effective_chat is not None:
        keys.append(update.effective_chat.id)
    if update.effective_user is not None and update.effective_user.id not in keys:
        keys.append(update.effective_user.id)
    return tuple(keys)


class _Turn:
    """One update's place in the queues of its keys."""

    __slots__ = ("keys", "ready", "waiting_for")

    def __init__(self, keys: tuple[int, ...]) -> None:
        self.keys = keys
        self.waiting_for = 0  # how many of its queues still have an earlier update
        self.ready: asyncio.Future[None] | None = None  # set when waiting_for drops to 0


class OrderedUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats and users, in arrival order within each; at most `max_running` handlers."""

    def __init__(self, max_running: int) -> None:
        if max_running < 1:
            raise ValueError("max_running must be at least 1")
        super().__init__(_NO_ADMISSION_LIMIT)
        self.max_running = max_running
        self._bound = asyncio.Semaphore(max_running)
        self._queues: dict[int, deque[_Turn]] = {}
        self._running = 0

    @property
    def running(self) -> int:
        """Handlers running now."""
        return self._running

    @property
    def keys_in_use(self) -> int:
        """Chats and users with an update waiting or running (0 when the bot is idle)."""
        return len(self._queues)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to free: a key's queue goes when its last update finishes."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        turn = self._join(ordering_keys(update))  # no await before this: the place is taken in arrival order
        started = False
        try:
            if turn.ready is not None:
                await turn.ready
            async with self._bound:
                started = True
                self._running += 1
                try:
                    await coroutine
                    # A handler that stops the update (ApplicationHandlerStop) skips its last step.
                    await finish_current_unit()
                finally:
                    self._running -= 1
        finally:
            self._leave(turn)
            if not started and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting: the update is dropped, without a warning

    def _join(self, keys: tuple[int, ...]) -> _Turn:
        turn = _Turn(keys)
        for key in keys:
            queue = self._queues.get(key)
            if queue is None:
                self._queues[key] = deque([turn])
            else:
                queue.append(turn)
                turn.waiting_for += 1
        if turn.waiting_for:
            turn.ready = asyncio.get_running_loop().create_future()
        return turn

    def _leave(self, turn: _Turn) -> None:
        for key in turn.keys:
            queue = self._queues[key]
            if queue[0] is turn:
                queue.popleft()
                if queue:
                    self._advance(queue[0])
            else:  # cancelled while waiting behind an earlier update: nobody moves up
                queue.remove(turn)
            if not queue:
                del self._queues[key]

    @staticmethod
    def _advance(turn: _Turn) -> None:
        """`turn` became first in one of its queues."""
        turn.waiting_for -= 1
        if turn.waiting_for == 0 and turn.ready is not None and not turn.ready.done():
            turn.ready.set_result(None)
