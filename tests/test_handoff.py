"""Hand-off to a human end to end through the fake Bot API: customer -> support chat -> customer, /r, /close,
media, restarts, racing staff, stale replies and the support-group setting."""

from __future__ import annotations

import asyncio

from bot.app import build_application
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import FakeRequest, blocked_by_user
from tests.fakes.updates import TgUser
from tests.faq_support import AMIRA, JOHN, handoffs, relayed_ids, staff_reply, tap_data
from tests.harness import Harness
from tests.surveys_support import surveys

MERCHANT2 = TgUser(id=900002, first_name="Omar", language_code="ar")
HELPER = TgUser(id=900777, first_name="Hana")  # in the support group, not a merchant


def copies_to(harness, user: TgUser) -> list[dict]:
    return [call.params for call in harness.api.sent("copyMessage", chat_id=user.id)]


async def open_conversation(harness, user: TgUser = JOHN, text: str = "I want to talk to a human") -> int:
    """The customer starts the bot and asks for a person; returns the message id relayed to the merchant."""
    await harness.send(updates.command(user, "/start"))
    await harness.send(updates.message(user, text))
    return (await relayed_ids(harness, MERCHANT.id))[-1]


async def test_relay_both_ways_until_staff_close(harness):
    first = await open_conversation(harness)
    assert "passed your question to our team" in harness.last_text_to(JOHN)
    alert = harness.last_text_to(MERCHANT)
    assert "Conversation #1" in alert and "(@johnd)" in alert and "I want to talk to a human" in alert
    assert 'href="tg://user?id=8001"' in alert

    await harness.send(updates.message(JOHN, "x" * 4096))
    assert len(harness.last_text_to(MERCHANT)) < 4096, "a long message still fits with its header"
    await harness.send(updates.message(JOHN, "My parcel <arrived> broken"))
    assert harness.last_text_to(MERCHANT) == "💬 <b>#1</b> John (@johnd):\nMy parcel &lt;arrived&gt; broken"

    answer = staff_reply(MERCHANT, first, "So sorry! A new one is on its way.")
    await harness.send(answer)
    (copy,) = copies_to(harness, JOHN)
    assert (int(copy["from_chat_id"]), int(copy["message_id"])) == (
        MERCHANT.id,
        answer["message"]["message_id"],
    )

    # Staff may reply to any relayed message of the conversation, not only the first.
    latest = (await relayed_ids(harness, MERCHANT.id))[-1]
    await harness.send(staff_reply(MERCHANT, latest, "It ships today."))
    assert len(copies_to(harness, JOHN)) == 2

    await harness.send(staff_reply(MERCHANT, latest, "/close"))
    assert "closed this conversation" in harness.last_text_to(JOHN)
    assert "Conversation #1 is closed" in harness.last_text_to(MERCHANT)
    (conversation,) = await handoffs(harness)
    assert conversation.state == "closed" and conversation.closed_by == MERCHANT.id
    (job,) = harness.app.job_queue.get_jobs_by_name(f"survey-ces-{conversation.customer_id}")
    await job.run(harness.app)
    assert [(survey.kind, survey.trigger) for survey in await surveys(harness)] == [("ces", "handoff")]

    # After closing, the customer's text is FAQ matching again, not relayed.
    relayed = len(harness.api.sent(chat_id=MERCHANT.id))
    await harness.send(updates.message(JOHN, "where is my order"))
    assert "tracking link" in harness.last_text_to(JOHN)
    assert len(harness.api.sent(chat_id=MERCHANT.id)) == relayed


async def test_thumbs_down_hands_the_question_over(harness):
    await harness.send(updates.command(AMIRA, "/start"))
    await harness.send(updates.message(AMIRA, "متى يصل طلبي"))
    await harness.send(updates.callback(AMIRA, tap_data(harness, AMIRA)["👎 لا"]))
    assert "أرسلت سؤالك إلى فريقنا" in harness.last_text_to(AMIRA)
    assert "Question: كم تستغرق مدة التوصيل؟" in harness.last_text_to(MERCHANT)
    (conversation,) = await handoffs(harness)
    assert conversation.state == "open"
    names = [job.name for job in harness.app.job_queue.jobs()]
    assert not [name for name in names if name.startswith("survey-")], "no CES while the conversation is open"


async def test_talk_to_a_person_button_carries_the_unanswered_question(harness):
    await harness.send(updates.message(JOHN, "Do you sell gift cards?"))
    await harness.send(updates.callback(JOHN, tap_data(harness, JOHN)["🙋 Talk to a person"]))
    assert "\nQuestion: Do you sell gift cards?" in harness.last_text_to(MERCHANT)  # a line of its own
    await harness.send(updates.command(JOHN, "/human"))
    assert "already talking with our team" in harness.last_text_to(JOHN)
    assert len(await handoffs(harness)) == 1


async def test_canned_reply_in_the_customers_language(harness):
    first = await open_conversation(harness, AMIRA, "أريد التحدث مع موظف")
    await harness.send(staff_reply(MERCHANT, first, "/r shipping"))
    assert "تصل الطلبات داخل المدينة" in harness.last_text_to(AMIRA)
    assert "Sent the “shipping” answer to أميرة" in harness.last_text_to(MERCHANT)
    await harness.send(staff_reply(MERCHANT, first, "/r nonsense"))
    note = harness.last_text_to(MERCHANT)
    assert "no FAQ answer with the code nonsense" in note and "returns" in note
    await harness.send(updates.command(MERCHANT, "/r shipping"))
    assert "in reply to a customer message" in harness.last_text_to(MERCHANT)


async def test_customer_media_is_relayed_and_staff_media_goes_back(harness):
    first = await open_conversation(harness)
    await harness.send(updates.photo(JOHN))
    assert "sent this:" in harness.last_text_to(MERCHANT)
    (copy,) = copies_to(harness, MERCHANT)
    assert int(copy["from_chat_id"]) == JOHN.id
    photo = {"photo": [{"file_id": "p2", "file_unique_id": "p2u", "width": 90, "height": 90}]}
    await harness.send(staff_reply(MERCHANT, first, **photo))
    assert int(copies_to(harness, JOHN)[0]["from_chat_id"]) == MERCHANT.id
    # Without a conversation, media gets the usual notice.
    await harness.send(updates.photo(AMIRA))
    assert "الرسائل النصية" in harness.last_text_to(AMIRA)


async def test_replies_to_closed_or_unknown_conversations_get_a_clear_note(harness):
    first = await open_conversation(harness)
    await harness.send(staff_reply(MERCHANT, first, "/close"))
    await harness.send(staff_reply(MERCHANT, first, "one more thing"))
    assert "Conversation #1 is closed, so nothing was sent" in harness.last_text_to(MERCHANT)
    await harness.send(staff_reply(MERCHANT, first, "/close"))
    assert "is closed, so nothing was sent" in harness.last_text_to(MERCHANT)
    assert copies_to(harness, JOHN) == []
    await harness.send(staff_reply(MERCHANT, 999999, "/close"))
    assert "not part of a customer conversation" in harness.last_text_to(MERCHANT)
    # A merchant's reply to some other bot message in their own chat is ordinary text.
    await harness.send(staff_reply(MERCHANT, 999999, "where is my order"))
    assert "tracking link" in harness.last_text_to(MERCHANT)


async def test_customers_are_refused_staff_and_merchant_commands(harness):
    first = await open_conversation(harness)
    for text in ("/close", "/r shipping", "/faq list", "/faq add en gift", "/faq gaps", "/faq delete 1"):
        await harness.send(staff_reply(JOHN, first, text))
        assert "for the shop team only" in harness.last_text_to(JOHN), text
    (conversation,) = await handoffs(harness)
    assert conversation.state == "open"
    assert len(await relayed_ids(harness, MERCHANT.id)) == 1, "commands are not relayed"


async def test_conversation_survives_a_restart(harness, settings, db, bot_api, clock):
    first = await open_conversation(harness)
    await harness.app.shutdown()
    await harness.app.post_shutdown(harness.app)
    application = build_application(settings, request=FakeRequest(bot_api), db=db, clock=clock, migrate=False)
    await application.initialize()
    await application.post_init(application)
    try:
        restarted = Harness(application, bot_api, clock)
        await restarted.send(updates.message(JOHN, "are you there?"))
        assert "are you there?" in restarted.last_text_to(MERCHANT)
        await restarted.send(staff_reply(MERCHANT, first, "Yes, here!"))
        assert len(copies_to(restarted, JOHN)) == 1
    finally:
        await application.shutdown()
        await application.post_shutdown(application)
    await harness.app.initialize()  # the fixture shuts the first application down again


async def test_two_staff_replying_at_once(harness):
    harness.app.bot_data["settings"].merchant_ids = (MERCHANT.id, MERCHANT2.id)
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "talk to a human"))
    to_mona, to_omar = (
        (await relayed_ids(harness, MERCHANT.id))[0],
        (await relayed_ids(harness, MERCHANT2.id))[0],
    )
    await asyncio.gather(
        *(
            harness.send(staff_reply(staff, relayed, f"reply {n}"))
            for n in range(5)
            for staff, relayed in ((MERCHANT, to_mona), (MERCHANT2, to_omar))
        )
    )
    assert len(copies_to(harness, JOHN)) == 10
    await asyncio.gather(
        harness.send(staff_reply(MERCHANT, to_mona, "/close")),
        harness.send(staff_reply(MERCHANT2, to_omar, "/close")),
    )
    closed_notes = [
        t for t in harness.texts_to(MERCHANT) + harness.texts_to(MERCHANT2) if "#1 is closed" in t
    ]
    assert len(closed_notes) == 2 and sum("The customer has been told" in t for t in closed_notes) == 1
    assert sum("closed this conversation" in t for t in harness.texts_to(JOHN)) == 1


async def test_a_support_group_instead_of_merchant_chats(harness):
    group = {"id": -100500, "type": "supergroup", "title": "Support"}
    harness.app.bot_data["settings"].support_chat_id = group["id"]
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "I need an agent"))
    assert "Conversation #1" in harness.last_text_to(group["id"])
    assert harness.api.sent(chat_id=MERCHANT.id) == []
    (relayed,) = await relayed_ids(harness, group["id"])
    await harness.send(staff_reply(HELPER, relayed, "Hana here, how can I help?", chat=group))
    assert len(copies_to(harness, JOHN)) == 1
    # Staff talking among themselves (replying to each other) is left alone.
    chatter = updates.message(HELPER, "lunch?", chat=group)
    await harness.send(updates.message(MERCHANT, "yes", chat=group, reply_to_message=chatter["message"]))
    assert len(harness.texts_to(group["id"])) == 1
    await harness.send(staff_reply(HELPER, relayed, "/close", chat=group))
    assert "Conversation #1 is closed" in harness.last_text_to(group["id"])


async def test_idle_conversation_closes_itself(harness):
    await open_conversation(harness)
    harness.clock.advance(hours=72, seconds=1)
    await harness.send(updates.message(JOHN, "refund"))
    assert "within 14 days" in harness.last_text_to(JOHN)
    (conversation,) = await handoffs(harness)
    assert conversation.state == "closed" and conversation.closed_by is None


async def test_blocked_customer_and_unreachable_support_chat(harness):
    first = await open_conversation(harness)
    harness.api.fail("copyMessage", blocked_by_user(), chat_id=JOHN.id)
    await harness.send(staff_reply(MERCHANT, first, "hello?"))
    assert "has blocked the bot" in harness.last_text_to(MERCHANT)
    harness.api.fail("sendMessage", blocked_by_user(), chat_id=MERCHANT.id)
    await harness.send(updates.command(AMIRA, "/human"))
    assert "تعذّر الوصول إلى فريقنا" in harness.last_text_to(AMIRA)
    assert [c.state for c in await handoffs(harness)] == ["open", "closed"], "Amira is not left waiting"


async def test_a_reply_to_a_customer_wins_over_an_faq_edit_in_progress(harness):
    first = await open_conversation(harness)
    await harness.send(updates.command(MERCHANT, "/faq add en gifts"))
    await harness.send(staff_reply(MERCHANT, first, "We will call you."))
    assert len(copies_to(harness, JOHN)) == 1
    await harness.send(updates.message(MERCHANT, "Do you sell gift cards?"))
    assert "Step 2 of 3" in harness.last_text_to(MERCHANT), "the editor still waits for its step"
