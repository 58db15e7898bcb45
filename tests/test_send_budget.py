"""The one send budget (bot/send_budget.py): replies go at once and are counted; bulk sends use what replies
leave, one per second per chat, 20 a minute per group; 429 retry_after is waited out.

A real ExtBot talks to the fake Bot API through FakeRequest; time is the harness's virtual clock, so every
figure below is exact virtual seconds and nothing really waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.send_budget import BULK, SAFETY, ReplyFirstRateLimiter
from tests.fakes.bot_api import FakeBotApi, FakeRequest, too_many_requests
from tests.harness import FakeClock


class TimedBotApi(FakeBotApi):
    """The fake Bot API noting the virtual time of every sendMessage it receives."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.at: list[tuple[float, int, str]] = []  # (virtual seconds, chat id, text)

    async def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "sendMessage":
            self.at.append((self.clock.monotonic(), int(params["chat_id"]), params["text"]))
        return await super().handle(method, params)

    def times(self, text: str, chat_id: int | None = None) -> list[float]:
        return [at for at, chat, said in self.at if said == text and chat_id in (None, chat)]


@pytest.fixture
async def rig():
    clock = FakeClock()
    api = TimedBotApi(clock)
    limiter = ReplyFirstRateLimiter(max_rate=30, bulk_rate=25, max_retries=2, clock=clock)
    bot = ExtBot("123:TEST", request=FakeRequest(api), rate_limiter=limiter)
    await bot.initialize()
    try:
        yield bot, api, clock, limiter
    finally:
        await bot.shutdown()


def reply(bot: ExtBot, chat_id: int, text: str = "reply"):
    return bot.send_message(chat_id, text)


def bulk(bot: ExtBot, chat_id: int, text: str = "bulk"):
    return bot.send_message(chat_id, text, rate_limit_args=BULK)


async def test_replies_overtake_a_broadcast_in_progress_and_are_not_capped(rig):
    bot, api, clock, limiter = rig
    clock.hold_pacing()  # bulk sends that must wait stay waiting until the test lets time pass
    broadcast = asyncio.gather(*(bulk(bot, 100 + n) for n in range(5)))
    await clock.until_sleeping(1)  # the first went at once, the second waits for its slot
    assert api.times("bulk") == [0.0]
    # 20 replies in the same instant: none is held back by the broadcast waiting, none sleeps.
    await asyncio.wait_for(asyncio.gather(*(reply(bot, 200 + n) for n in range(20))), 5)
    assert api.times("reply") == [0.0] * 20
    assert clock.monotonic() == 0.0 and len(clock.sleeps) == 1
    assert len(limiter.budget.recent) == 21  # ... but every reply is counted in the shared window
    clock.resume_pacing()
    await broadcast
    # The 20 replies and the first bulk message leave 3 of the 24 sends bulk may fill: those go at the
    # bulk rate (25/s), the last one once the replies have left the window.
    assert api.times("bulk") == pytest.approx([0.0, 0.04, 0.08, 0.12, 1.0 + SAFETY])


async def test_a_burst_of_replies_above_telegrams_limit_waits_for_room_instead_of_a_429(rig):
    bot, api, _, _ = rig
    await asyncio.wait_for(asyncio.gather(*(reply(bot, 200 + n) for n in range(40))), 5)
    times = sorted(api.times("reply"))
    # 30 at once (Telegram's limit in any one second), the 10 others as soon as the first have left it.
    assert times[:30] == [0.0] * 30
    assert times[30:] == pytest.approx([1.0 + SAFETY] * 10)


@pytest.mark.parametrize("replies", [0, 5, 20])
async def test_bulk_takes_only_what_replies_leave_of_the_overall_limit(rig, replies):
    bot, api, _, limiter = rig
    limiter.budget.bulk_interval = 0.001  # the bulk ceiling far above the overall limit
    await asyncio.gather(*(reply(bot, 200 + n) for n in range(replies)))
    await asyncio.gather(*(bulk(bot, 100 + n) for n in range(40)))
    first_second = [at for at in api.times("bulk") if at < 1.0]
    # 30/s overall, a fifth of it left free for replies yet to come: 24 a second between replies and bulk.
    assert limiter.budget.bulk_ceiling == 24
    assert len(first_second) == 24 - replies
    assert len(api.times("bulk")) == 40


async def test_bulk_keeps_to_the_bulk_rate_when_no_customer_is_writing(rig):
    bot, api, _, _ = rig
    await asyncio.gather(*(bulk(bot, 100 + n) for n in range(10)))
    assert api.times("bulk") == pytest.approx([n * 0.04 for n in range(10)])  # OUTREACH_RATE 25/s


async def test_bulk_sends_one_per_second_per_chat_counting_replies(rig):
    bot, api, _, _ = rig
    await asyncio.gather(bulk(bot, 7, "a"), bulk(bot, 7, "b"), bulk(bot, 7, "c"))
    step = 1.0 + SAFETY  # Telegram's second and a margin for when a send arrives
    assert [at for at, chat, _ in api.at if chat == 7] == pytest.approx([0.0, step, 2 * step])
    await reply(bot, 8)  # a reply now: the chat's next bulk message waits a second after it
    await bulk(bot, 8)
    assert api.times("bulk", chat_id=8) == pytest.approx([3 * step])


async def test_bulk_sends_at_most_20_a_minute_to_a_group(rig):
    bot, api, _, _ = rig
    await asyncio.gather(*(bulk(bot, -1001, f"g{n}") for n in range(21)))
    times = [at for at, chat, _ in api.at if chat == -1001]
    assert times[:20] == pytest.approx([n * (1.0 + SAFETY) for n in range(20)])  # one a second ...
    assert times[20] == pytest.approx(60.0)  # ... and the 21st once the first is a minute old


async def test_a_reply_waits_only_for_its_own_chats_bulk_message(rig):
    """The one wait a reply has: right after a bulk message to the same chat Telegram would refuse it, so
    it waits out the rest of that chat's second. Replies to every other chat go at once."""
    bot, api, _, _ = rig
    await bulk(bot, 5)
    await asyncio.gather(reply(bot, 6), reply(bot, 5), reply(bot, 6))
    assert api.times("reply", chat_id=6) == [0.0, 0.0]
    assert api.times("reply", chat_id=5) == pytest.approx([1.0 + SAFETY])


async def test_a_429_on_a_reply_is_retried_after_retry_after_and_pauses_bulk(rig):
    bot, api, _, _ = rig
    api.fail("sendMessage", too_many_requests(retry_after=2), chat_id=9)
    await asyncio.gather(reply(bot, 9), bulk(bot, 10))
    # The refused reply went again after retry_after (+0.1 s); bulk waited for the pause too.
    assert [chat for _, chat, _ in api.at] == [9, 10, 9] or [chat for _, chat, _ in api.at] == [9, 9, 10]
    assert api.times("reply", chat_id=9) == pytest.approx([0.0, 2.1])
    assert api.times("bulk", chat_id=10) == pytest.approx([2.1])
    await reply(bot, 11)  # the pause holds bulk sends only: a new reply goes at once
    assert api.times("reply", chat_id=11) == pytest.approx([2.1])


async def test_a_429_on_bulk_pauses_every_bulk_send_and_retries(rig):
    bot, api, _, _ = rig
    api.fail("sendMessage", too_many_requests(retry_after=3), chat_id=20)
    await asyncio.gather(bulk(bot, 20), bulk(bot, 21))
    first, retry = api.times("bulk", chat_id=20)
    (other,) = api.times("bulk", chat_id=21)
    assert first == 0.0
    # Both wait out the pause (3 s + 0.1), then go one after the other at the bulk rate.
    assert sorted([retry, other]) == pytest.approx([3.1, 3.14])


async def test_still_refused_after_max_retries_raises_retry_after(rig):
    bot, api, _, _ = rig
    api.fail("sendMessage", too_many_requests(retry_after=1), chat_id=30, times=3)
    with pytest.raises(RetryAfter):
        await reply(bot, 30)
    assert api.times("reply", chat_id=30) == pytest.approx([0.0, 1.1, 2.2])  # max_retries=2


async def test_a_customer_chatting_fast_holds_the_broadcast_back_two_seconds_at_most(rig):
    """Replies to one chat every 0.2 s would keep its bulk message waiting for ever; once it has waited a
    second it is overdue, and the chat's next reply waits until it has gone. Meanwhile bulk sends to other
    chats go on, and no two sends to the chat come within a second of each other."""
    bot, api, clock, _ = rig
    chatting = asyncio.Event()

    async def customer_chats() -> None:
        while not chatting.is_set():
            await reply(bot, 9)
            await clock.sleep(0.2)

    talk = asyncio.create_task(customer_chats())
    await clock.sleep(0.1)
    await asyncio.wait_for(asyncio.gather(bulk(bot, 9, "to the chatter"), bulk(bot, 10, "next")), 10)
    chatting.set()
    await talk
    (to_chatter,) = api.times("to the chatter", chat_id=9)
    assert to_chatter <= 0.1 + 2 * (1.0 + SAFETY), "held back two intervals at most, not for ever"
    assert api.times("next", chat_id=10)[0] < 1.0, "the other chat's bulk message did not wait for it"
    before = max(at for at, chat, text in api.at if chat == 9 and at < to_chatter)
    after = min(at for at, chat, text in api.at if chat == 9 and at > to_chatter)
    assert to_chatter - before >= 1.0 and after - to_chatter >= 1.0, "a second either side of it"
