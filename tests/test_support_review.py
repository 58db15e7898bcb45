"""Regressions from the review of the FAQ, hand-off and analytics features (on both databases)."""

from __future__ import annotations

import csv
import io

import pytest

from bot.faq import library, matching
from tests.analytics_support import at, customer, order
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import ApiError
from tests.fakes.updates import TgUser
from tests.faq_support import AMIRA, JOHN, gaps, handoffs, relayed_ids, staff_reply, tap_data


async def test_asking_for_the_staff_with_the_arabic_article_or_a_plural_hands_off(harness):
    await harness.send(updates.command(AMIRA, "/start"))
    await harness.send(updates.message(AMIRA, "ابغى اكلم الموظف"))
    assert "أرسلت سؤالك إلى فريقنا" in harness.last_text_to(AMIRA)
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "can I talk to one of your agents"))
    assert "passed your question to our team" in harness.last_text_to(JOHN)
    assert [conversation.state for conversation in await handoffs(harness)] == ["open", "open"]
    assert await gaps(harness) == []
    assert "Conversation #2" in harness.last_text_to(MERCHANT)


async def test_a_long_customer_message_reaches_staff_whole(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "talk to a human"))
    text = "a" * 3000 + "b" * 1000 + "END"
    await harness.send(updates.message(JOHN, text[:4096]))
    parts = [call.params["text"] for call in harness.api.sent("sendMessage", chat_id=MERCHANT.id)][1:]
    assert len(parts) == 2 and all(len(part) < 4096 for part in parts)
    relayed = "".join(part.split(":\n", 1)[1] for part in parts)
    assert relayed == text[:4096]


async def test_thumbs_down_during_an_open_conversation_still_tells_staff_the_question(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "talk to a human"))
    await harness.send(updates.command(JOHN, "/faq"))
    await harness.send(updates.callback(JOHN, tap_data(harness, JOHN)["What is your return policy?"]))
    await harness.send(updates.callback(JOHN, tap_data(harness, JOHN)["👎 No"]))
    assert "already talking with our team" in harness.last_text_to(JOHN)
    assert harness.last_text_to(MERCHANT) == "💬 <b>#1</b> John (@johnd):\nWhat is your return policy?"
    (conversation,) = await handoffs(harness)
    assert conversation.state == "open"
    assert len(await relayed_ids(harness, MERCHANT.id)) == 2  # staff can reply to it too


async def test_export_neutralizes_formulas_in_shop_order_ids(harness):
    customer_id = await customer(harness.db, 5501)
    await order(
        harness.db, '=HYPERLINK("http://evil.example","x")', customer_id, at("2026-03-01 10:00"), 1000
    )
    await order(harness.db, "@SUM(A1)", None, at("2026-03-02 10:00"), 500, source="+csv")
    await harness.send(updates.command(MERCHANT, "/export"))
    (orders,) = [
        call.params["_files"]["document"][1]
        for call in harness.api.sent("sendDocument", chat_id=MERCHANT.id)
        if call.params["_files"]["document"][0] == "orders.csv"
    ]
    rows = list(csv.DictReader(io.StringIO(orders.decode("utf-8-sig"))))
    assert [row["shop_order_id"] for row in rows] == ['\'=HYPERLINK("http://evil.example","x")', "'@SUM(A1)"]
    assert rows[1]["source"] == "'+csv"


async def test_forgetme_erases_unanswered_questions_and_ends_the_open_conversation(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "deliver to 12 Palm street, call me on +966501234567"))
    await harness.send(updates.command(AMIRA, "/start"))
    await harness.send(updates.message(AMIRA, "هل عندكم قسائم هدايا"))
    assert [gap.text for gap in await gaps(harness)] == [
        "deliver to 12 Palm street, call me on +966501234567",
        "هل عندكم قسائم هدايا",
    ]
    await harness.send(updates.callback(JOHN, tap_data(harness, JOHN)["🙋 Talk to a person"]))
    first = (await relayed_ids(harness, MERCHANT.id))[-1]

    await harness.send(updates.command(JOHN, "/forgetme"))
    await harness.send(updates.callback(JOHN, "forget:yes"))

    assert [gap.text for gap in await gaps(harness)] == ["هل عندكم قسائم هدايا"]  # others' gaps stay
    (conversation,) = await handoffs(harness)
    assert conversation.state == "closed" and conversation.open_customer_id is None
    await harness.send(staff_reply(MERCHANT, first, "Hello?"))
    assert "is closed" in harness.last_text_to(MERCHANT)
    assert harness.api.sent("copyMessage", chat_id=JOHN.id) == []


async def test_a_customer_asking_with_an_editor_word_gets_an_answer_not_a_refusal(harness):
    await harness.send(updates.command(JOHN, "/start"))
    for question in ("/faq cancel my order", "/faq cancel", "/faq edit my order"):
        await harness.send(updates.command(JOHN, question))
        assert "shop team only" not in harness.last_text_to(JOHN), question
        assert "Did this help?" in harness.last_text_to(JOHN), question
    await harness.send(updates.command(JOHN, "/faq delete 3"))  # the editor's own form stays refused
    assert "shop team only" in harness.last_text_to(JOHN)


async def test_periods_at_the_ends_of_the_calendar_get_the_usage_not_an_error(harness):
    for period in ("0001-01", "9999-12-01..9999-12-31", "0001-01-05..0001-01-09"):
        await harness.send(updates.command(MERCHANT, f"/stats {period}"))
        assert f"I don't understand the period <code>{period}</code>" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(MERCHANT, "/stats top 0001-01"))
    assert "I don't understand the period" in harness.last_text_to(MERCHANT)


async def test_asking_for_a_person_after_an_idle_conversation_opens_a_new_one(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "talk to a human"))
    harness.clock.advance(hours=72, seconds=1)
    await harness.send(updates.command(JOHN, "/human"))
    assert "passed your question to our team" in harness.last_text_to(JOHN)
    assert "Conversation #2" in harness.last_text_to(MERCHANT)
    await harness.send(updates.message(JOHN, "my parcel never came"))
    assert harness.last_text_to(MERCHANT) == "💬 <b>#2</b> John (@johnd):\nmy parcel never came"
    assert [c.state for c in await handoffs(harness)] == ["closed", "open"]


def test_persian_keyboard_letters_fold_to_the_arabic_ones():
    assert matching.normalize("کم تکلفة الشحن لطلبی") == matching.normalize("كم تكلفة الشحن لطلبي")
    assert matching.key_words("کم تکلفة الشحن") == "تكلفه شحن"  # "کم" is the stop word "كم"


async def test_a_canned_reply_telegram_refuses_is_reported_to_staff_not_as_a_crash(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "talk to a human"))
    first = (await relayed_ids(harness, MERCHANT.id))[-1]
    harness.api.fail("sendMessage", ApiError(400, "Bad Request: chat not found"), chat_id=JOHN.id)
    await harness.send(staff_reply(MERCHANT, first, "/r shipping"))
    assert "did not accept the message for conversation #1" in harness.last_text_to(MERCHANT)


async def test_a_staffers_private_chat_as_support_chat_can_answer_and_close(harness):
    helper = TgUser(id=900777, first_name="Hana")  # not a merchant
    harness.app.bot_data["settings"].support_chat_id = helper.id
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "talk to a human"))
    first = (await relayed_ids(harness, helper.id))[-1]
    await harness.send(staff_reply(helper, first, "Hi John, how can I help?"))
    assert len(harness.api.sent("copyMessage", chat_id=JOHN.id)) == 1
    await harness.send(staff_reply(helper, first, "/close"))
    assert "Conversation #1 is closed" in harness.last_text_to(helper)
    assert [c.state for c in await handoffs(harness)] == ["closed"]


async def test_export_in_a_group_sends_no_customer_data_there(harness):
    group = {"id": -100600, "type": "supergroup", "title": "Shop friends"}
    await harness.send(updates.command(MERCHANT, "/export", chat=group))
    assert harness.api.sent("sendDocument") == []
    assert "only in our private chat" in harness.last_text_to(group["id"])
    await harness.send(updates.command(MERCHANT, "/export"))
    assert len(harness.api.sent("sendDocument", chat_id=MERCHANT.id)) == 3


async def test_a_forged_talk_to_a_person_button_does_not_carry_another_customers_question(harness):
    await harness.send(updates.command(AMIRA, "/start"))
    await harness.send(updates.message(AMIRA, "رقم جوالي 0501234567 وعنواني حي النخيل"))
    (gap,) = await gaps(harness)
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.callback(JOHN, f"faqh:{gap.id}"))
    alert = harness.last_text_to(MERCHANT)
    assert "Conversation #1" in alert and "0501234567" not in alert
    await harness.send(updates.callback(AMIRA, tap_data(harness, AMIRA)["🙋 التحدث مع موظف"]))
    assert "0501234567" in harness.last_text_to(MERCHANT)  # her own button still carries it


async def test_a_misshapen_faq_file_leaves_the_faq_empty_instead_of_failing_every_question(harness, tmp_path):
    broken = tmp_path / "faq.yaml"
    broken.write_text("entries:\n  - shipping\n  - returns\n", encoding="utf-8")
    harness.app.bot_data["settings"].faq_file = broken
    await harness.send(updates.command(JOHN, "/faq"))
    assert harness.buttons_to(JOHN) == [("🙋 Talk to a person", "faqh")]
    await harness.send(updates.message(JOHN, "how long does delivery take"))
    assert "couldn't find an answer" in harness.last_text_to(JOHN)
    with pytest.raises(ValueError, match="entry 1 must be a mapping"):
        library.load_file(broken)


async def test_periods_typed_in_arabic_indic_digits_are_understood(harness):
    for typed in ("٢٠٢٦-٠١-٠١..٢٠٢٦-٠٣-٣١", "۲۰۲۶-۰۱-۰۱..۲۰۲۶-۰۳-۳۱"):
        await harness.send(updates.command(MERCHANT, f"/stats {typed}"))
        assert "Jan 1, 2026 – Mar 31, 2026" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(MERCHANT, "/stats ٣٠d"))
    assert "I don't understand" not in harness.last_text_to(MERCHANT)


async def test_a_long_first_message_asking_for_a_person_reaches_staff_whole(harness):
    await harness.send(updates.command(JOHN, "/start"))
    text = "I want to talk to a human. " + "The blue vase I got has a crack in it and " * 15 + "END"
    await harness.send(updates.message(JOHN, text))
    alert, rest = [call.params["text"] for call in harness.api.sent("sendMessage", chat_id=MERCHANT.id)]
    assert "Conversation #1" in alert and "END" in rest
    question = alert.split("Question: ", 1)[1].split("\n", 1)[0]
    assert question + rest.split(":\n", 1)[1] == text
    assert len(await relayed_ids(harness, MERCHANT.id)) == 2  # staff may reply to either


async def test_a_long_unanswered_question_reaches_staff_whole_from_the_talk_to_a_person_button(harness):
    await harness.send(updates.command(JOHN, "/start"))
    text = "The blue vase I got has a crack in it and " * 20 + "END"
    await harness.send(updates.message(JOHN, text))
    await harness.send(updates.callback(JOHN, tap_data(harness, JOHN)["🙋 Talk to a person"]))
    relayed = "".join(call.params["text"] for call in harness.api.sent("sendMessage", chat_id=MERCHANT.id))
    assert "END" in relayed and relayed.count("crack") == 20
    await harness.send(updates.command(MERCHANT, "/faq gaps"))
    assert "The blue vase" in harness.last_text_to(MERCHANT) and "END" not in harness.last_text_to(MERCHANT)


async def test_cohort_table_of_three_years_fits_one_message(harness):
    harness.app.bot_data["settings"].analytics_months = 36
    for months_ago in range(36):
        year, month = divmod(2026 * 12 + 2 - months_ago, 12)
        customer_id = await customer(harness.db, 6000 + months_ago)
        await order(harness.db, f"c{months_ago}", customer_id, at(f"{year}-{month + 1:02d}-10 10:00"), 1000)
    await harness.send(updates.command(MERCHANT, "/cohort"))
    (text,) = [call.params["text"] for call in harness.api.sent("sendMessage", chat_id=MERCHANT.id)]
    assert len(text) <= 4096 and "2026-03" in text and "Monthly cohorts" in text
    assert len(harness.api.sent("sendPhoto", chat_id=MERCHANT.id)) == 1
