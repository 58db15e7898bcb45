"""OrderedUpdateProcessor in the real application: chats run concurrently, each chat and each user in arrival
order, at most UPDATE_CONCURRENCY handlers at once, and nothing is kept for idle chats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from telegram import Update
from telegram.ext import ApplicationHandlerStop, CommandHandler

from bot.settings import Settings, SettingsError, load_settings
from bot.update_processor import OrderedUpdateProcessor, ordering_keys
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.faq_support import entry
from tests.harness import Harness

ANNA = TgUser(id=8101, first_name="Anna")
BOB = TgUser(id=8102, first_name="Bob")
CARL = TgUser(id=8103, first_name="Carl")
GROUP = {"id": -1008100, "type": "supergroup", "title": "Shop fans"}


@pytest.fixture
def concurrency() -> int:
    """UPDATE_CONCURRENCY for the test's application; a test changes it with @pytest.mark.parametrize."""
    return 64


@pytest.fixture
def settings(settings: Settings, concurrency: int) -> Settings:
    return settings.model_copy(update={"update_concurrency": concurrency})


class Probe:
    """`/probe <label>`, handled ahead of the bot's own handlers: records when each label starts and ends,
    waits for its gate (if one is set) or sleeps its delay, and raises for labels starting with "fail"."""

    def __init__(self, harness: Harness) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.delays: dict[str, float] = {}
        self.running: set[str] = set()
        self.most_running = 0
        self.overlaps: list[tuple[str, str]] = []  # (running label, label that started meanwhile)
        harness.app.add_handler(CommandHandler("probe", self), group=-3)  # before the first step

    def gate(self, label: str) -> asyncio.Event:
        return self.gates.setdefault(label, asyncio.Event())

    async def __call__(self, update: Update, context: object) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        label = update.effective_message.text.split()[1]
        self.overlaps += [(other, label) for other in self.running]
        self.started.append(label)
        self.running.add(label)
        self.most_running = max(self.most_running, len(self.running))
        try:
            if label in self.gates:
                await self.gates[label].wait()
            await asyncio.sleep(self.delays.get(label, 0))
            if label.startswith("fail"):
                raise RuntimeError(f"probe {label} failed")
        finally:
            self.running.discard(label)
            self.finished.append(label)
        raise ApplicationHandlerStop


def probe(user: TgUser, label: str, *, chat: dict | None = None) -> dict:
    return updates.command(user, f"/probe {label}", chat=chat)


def processor_of(harness: Harness) -> OrderedUpdateProcessor:
    processor = harness.app.update_processor
    assert isinstance(processor, OrderedUpdateProcessor)
    return processor


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def replied(harness: Harness, user: TgUser) -> bool:
    return any(call.method == "sendMessage" and call.chat_id == user.id for call in harness.api.calls)


async def test_build_application_wires_the_processor_with_update_concurrency(harness):
    processor = processor_of(harness)
    assert processor.max_running == harness.app.bot_data["settings"].update_concurrency == 64
    chat_update = Update.de_json({"update_id": 1, **probe(ANNA, "x", chat=GROUP)}, harness.app.bot)
    assert ordering_keys(chat_update) == (GROUP["id"], ANNA.id)
    private_update = Update.de_json({"update_id": 2, **probe(ANNA, "x")}, harness.app.bot)
    assert ordering_keys(private_update) == (ANNA.id,), "a private chat's id is its user's"
    assert ordering_keys(object()) == ()


@pytest.mark.parametrize("value", ["0", "1025", "many"])
def test_update_concurrency_outside_1_to_1024_is_refused(value):
    with pytest.raises(SettingsError, match="UPDATE_CONCURRENCY"):
        load_settings(_env_file=None, update_concurrency=value)


async def test_one_chats_updates_finish_in_arrival_order_in_the_running_application(harness):
    """Through the running Application (update_queue → its fetcher → the processor), as in production."""
    probe_ = Probe(harness)
    labels = [f"a{i}" for i in range(8)]
    for i, label in enumerate(labels):
        probe_.delays[label] = 0.005 * (len(labels) - i)  # later updates are quicker: they would overtake
    others = [f"b{i}" for i in range(4)]
    await harness.app.start()
    try:
        for i, label in enumerate(labels):
            await harness.app.update_queue.put(
                Update.de_json({"update_id": 10 + i, **probe(ANNA, label)}, harness.app.bot)
            )
            if i < len(others):
                await harness.app.update_queue.put(
                    Update.de_json({"update_id": 100 + i, **probe(BOB, others[i])}, harness.app.bot)
                )
        await asyncio.wait_for(harness.app.update_queue.join(), 10)
    finally:
        await harness.app.stop()
    assert [label for label in probe_.finished if label.startswith("a")] == labels
    assert not [pair for pair in probe_.overlaps if pair[0][0] == pair[1][0]], "one chat never overlaps"
    assert probe_.most_running > 1, "the two chats ran at the same time"
    assert processor_of(harness).keys_in_use == 0


async def test_a_conversation_sent_at_once_is_handled_step_by_step(harness):
    """The FAQ editor keeps its step in user_data; its messages, all submitted at once between other
    customers' traffic, are handled in order and the entry is saved as typed."""
    steps = [
        updates.command(MERCHANT, "/faq add en gift_cards"),
        updates.message(MERCHANT, "Do you sell gift cards?"),
        updates.message(MERCHANT, "gift card\nvoucher"),
        updates.message(MERCHANT, "Yes: gift cards of 50, 100 and 200 at checkout."),
    ]
    tasks = []
    for i, step in enumerate(steps):
        tasks.append(harness.submit(step))
        tasks.append(harness.submit(updates.command([ANNA, BOB, CARL][i % 3], "/help")))
    await asyncio.gather(*tasks)
    assert not harness.errors
    added = await entry(harness, "gift_cards", "en")
    assert (added.question, added.phrasing_list) == ("Do you sell gift cards?", ["gift card", "voucher"])
    assert added.answer == "Yes: gift cards of 50, 100 and 200 at checkout."
    merchant_texts = harness.texts_to(MERCHANT)
    assert len(merchant_texts) == 4
    assert "step 1 of 3" in merchant_texts[0] and "Step 2 of 3" in merchant_texts[1]
    assert "Step 3 of 3" in merchant_texts[2] and "Saved FAQ entry" in merchant_texts[3]


async def test_a_slow_chat_does_not_delay_another_chats_help(harness):
    probe_ = Probe(harness)
    probe_.gate("export")
    slow = harness.submit(probe(ANNA, "export"))
    await until(lambda: probe_.started == ["export"])
    help_ = harness.submit(updates.command(BOB, "/help"))
    await asyncio.wait_for(help_, 10)
    assert "/language" in harness.last_text_to(BOB)
    assert probe_.running == {"export"}, "Anna's handler is still running"
    probe_.gate("export").set()
    await asyncio.wait_for(slow, 10)


async def test_one_user_in_two_chats_is_served_in_order(harness):
    """A user's group message (keys: group, user) and then their private one (key: user) never overlap."""
    probe_ = Probe(harness)
    probe_.gate("in_group")
    first = harness.submit(probe(ANNA, "in_group", chat=GROUP))
    second = harness.submit(probe(ANNA, "in_private"))
    # Someone else in the same group waits too (the group's key); a third chat does not.
    group_mate = harness.submit(probe(BOB, "group_mate", chat=GROUP))
    other = harness.submit(probe(CARL, "other"))
    await asyncio.wait_for(other, 10)  # the loop has had every chance to start the others
    assert probe_.started == ["in_group", "other"]
    probe_.gate("in_group").set()
    await asyncio.wait_for(asyncio.gather(first, second, group_mate), 10)
    assert probe_.finished.index("in_group") < probe_.finished.index("in_private")
    assert probe_.finished.index("in_group") < probe_.finished.index("group_mate")
    assert ("in_group", "in_private") not in probe_.overlaps
    assert ("in_group", "group_mate") not in probe_.overlaps


@pytest.mark.parametrize("concurrency", [2])
async def test_at_most_update_concurrency_handlers_run_at_once(harness):
    probe_ = Probe(harness)
    processor = processor_of(harness)
    assert processor.max_running == 2
    users = [TgUser(id=8200 + i, first_name=f"U{i}") for i in range(6)]
    for user in users:
        probe_.gate(f"u{user.id}")
    tasks = [harness.submit(probe(user, f"u{user.id}")) for user in users]
    await until(lambda: len(probe_.started) == 2)
    await asyncio.sleep(0.05)
    assert len(probe_.started) == 2 and processor.running == 2
    for user in users:
        probe_.gate(f"u{user.id}").set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert sorted(probe_.finished) == sorted(f"u{user.id}" for user in users)
    assert probe_.most_running == 2


@pytest.mark.parametrize("concurrency", [2])
async def test_updates_waiting_for_their_chat_take_no_place_in_the_bound(harness):
    """A burst from one chat (an album, many taps) waits for its chat without filling UPDATE_CONCURRENCY."""
    probe_ = Probe(harness)
    probe_.gate("a0")
    burst = [harness.submit(probe(ANNA, f"a{i}")) for i in range(5)]
    await until(lambda: probe_.started == ["a0"])
    assert processor_of(harness).running == 1
    await asyncio.wait_for(harness.submit(updates.command(BOB, "/help")), 10)
    assert replied(harness, BOB) and probe_.started == ["a0"]
    probe_.gate("a0").set()
    await asyncio.wait_for(asyncio.gather(*burst), 10)
    assert probe_.finished == [f"a{i}" for i in range(5)]


async def test_idle_chats_and_users_leave_nothing_behind(harness):
    probe_ = Probe(harness)
    processor = processor_of(harness)
    for label in ("hold", f"p{BOB.id}", f"p{CARL.id}"):
        probe_.gate(label)
    held = harness.submit(probe(ANNA, "hold", chat=GROUP))
    rest = [harness.submit(probe(user, f"p{user.id}")) for user in (ANNA, BOB, CARL)]
    rest.append(harness.submit({"poll": _poll()}))  # no chat, no user: runs freely
    await until(lambda: len(probe_.started) == 3)  # hold, Bob's, Carl's; Anna's private one waits
    assert processor.keys_in_use == 4, "the group, Anna, Bob and Carl are in use"
    for gate in probe_.gates.values():
        gate.set()
    await asyncio.wait_for(asyncio.gather(held, *rest), 10)
    assert processor.keys_in_use == 0 and processor.running == 0
    assert processor._queues == {}


async def test_a_cancelled_waiting_update_lets_the_next_one_run(harness):
    probe_ = Probe(harness)
    processor = processor_of(harness)
    probe_.gate("first")
    first = harness.submit(probe(ANNA, "first"))
    waiting = harness.submit(probe(ANNA, "cancelled"))
    last = harness.submit(probe(ANNA, "last"))
    await until(lambda: probe_.started == ["first"])
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    probe_.gate("first").set()
    await asyncio.wait_for(asyncio.gather(first, last), 10)
    assert probe_.finished == ["first", "last"]
    assert processor.keys_in_use == 0


async def test_a_failing_update_does_not_stop_its_chats_later_updates(harness):
    probe_ = Probe(harness)
    probe_.gate("fail_first")
    tasks = [
        harness.submit(probe(ANNA, "fail_first")),
        harness.submit(probe(ANNA, "second")),
        harness.submit(updates.command(ANNA, "/help")),
    ]
    await until(lambda: probe_.started == ["fail_first"])
    probe_.gate("fail_first").set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert probe_.finished == ["fail_first", "second"]
    assert [str(error) for error in harness.errors] == ["probe fail_first failed"]
    assert "/language" in harness.last_text_to(ANNA)
    assert processor_of(harness).keys_in_use == 0


def _poll() -> dict:
    return {
        "id": "poll-1",
        "question": "Best flavour?",
        "options": [
            {"text": "Mint", "voter_count": 1, "persistent_id": "mint"},
            {"text": "Lime", "voter_count": 0, "persistent_id": "lime"},
        ],
        "total_voter_count": 1,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }
