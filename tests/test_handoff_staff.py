"""Hand-off with several staff through the fake Bot API: the first to answer holds the conversation, the
others are told who took it and who closed it, and the alerts name the holder (shop language en or ar)."""

from __future__ import annotations

import pytest

from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.faq_support import JOHN, handoffs, relayed_ids, staff_reply

OMAR = TgUser(id=900002, first_name="Omar", language_code="ar")
MONA, NO = "\u2068Mona\u2069", "\u2068#1\u2069"  # names and numbers in Arabic text are bidi-isolated
JOHN_AR = "\u2068John\u2069 (\u2068@johnd\u2069)"

TEXTS = {
    "en": {
        "took": "👤 Mona took conversation <b>#1</b> with John (@johnd)",
        "held": "💬 <b>#1</b> John (@johnd) · held by Mona:\nstill there?",
        "closed": "✅ Conversation <b>#1</b> with John was closed by Mona.",
        "was_closed": "Conversation #1 is closed",
    },
    "ar": {
        "took": f"👤 تولّى {MONA} المحادثة <b>{NO}</b> مع {JOHN_AR}",
        "held": f"💬 <b>{NO}</b> كتب {JOHN_AR} · يتابعها {MONA}:\nstill there?",
        "closed": "✅ أغلق \u2068Mona\u2069 المحادثة <b>\u2068#1\u2069</b> مع \u2068John\u2069.",
        "was_closed": "المحادثة \u2068#1\u2069 مغلقة",
    },
}


@pytest.fixture(params=["en", "ar"])
def shop(request, harness):
    settings = harness.app.bot_data["settings"]
    settings.merchant_ids = (MERCHANT.id, OMAR.id)
    settings.default_locale = request.param  # staff messages are in the shop's language
    return harness, TEXTS[request.param]


async def open_conversation(harness) -> tuple[int, int]:
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "I want to talk to a human"))
    return (await relayed_ids(harness, MERCHANT.id))[-1], (await relayed_ids(harness, OMAR.id))[-1]


async def test_the_others_are_told_who_took_and_who_closed_a_conversation(shop):
    harness, texts = shop
    to_mona, to_omar = await open_conversation(harness)
    await harness.send(staff_reply(MERCHANT, to_mona, "Hello John, Mona here."))
    assert harness.last_text_to(OMAR).startswith(texts["took"])
    assert not any(text.startswith("👤") for text in harness.texts_to(MERCHANT)), "not to herself"
    (conversation,) = await handoffs(harness)
    assert (conversation.held_by, conversation.held_by_name) == (MERCHANT.id, "Mona")

    # The alerts of the customer's next messages show who holds the conversation, in both chats.
    await harness.send(updates.message(JOHN, "still there?"))
    assert harness.last_text_to(MERCHANT) == texts["held"] == harness.last_text_to(OMAR)

    # A second staff reply (Omar's too) reaches the customer but does not move the conversation.
    omar_notes = len(harness.texts_to(OMAR))
    await harness.send(staff_reply(OMAR, to_omar, "Omar adding: it ships today."))
    await harness.send(staff_reply(MERCHANT, to_mona, "Anything else?"))
    assert len(harness.api.sent("copyMessage", chat_id=JOHN.id)) == 3
    assert len(harness.texts_to(OMAR)) == omar_notes and (await handoffs(harness))[0].held_by == MERCHANT.id

    await harness.send(staff_reply(MERCHANT, to_mona, "/close"))
    assert harness.last_text_to(OMAR) == texts["closed"]
    # The notes are relayed messages too: a reply to one is a reply to its conversation.
    took_note = (await relayed_ids(harness, OMAR.id))[-1]
    await harness.send(staff_reply(OMAR, took_note, "late answer"))
    assert texts["was_closed"] in harness.last_text_to(OMAR)
    assert len(harness.api.sent("copyMessage", chat_id=JOHN.id)) == 3


async def test_a_canned_reply_takes_the_conversation_too(shop):
    harness, texts = shop
    to_mona, _ = await open_conversation(harness)
    await harness.send(staff_reply(MERCHANT, to_mona, "/r shipping"))
    assert "1-2 working days" in harness.last_text_to(JOHN)
    assert harness.last_text_to(OMAR).startswith(texts["took"])


async def test_closing_an_unanswered_conversation_tells_the_others(shop):
    harness, texts = shop
    _, to_omar = await open_conversation(harness)
    await harness.send(staff_reply(OMAR, to_omar, "/close"))
    closed_by_omar = texts["closed"].replace("Mona", "Omar")
    assert harness.last_text_to(MERCHANT) == closed_by_omar
    assert harness.last_text_to(OMAR) != closed_by_omar
