"""/broadcast's audience through the fake Bot API: the shop team (MERCHANT_IDS) neither receives nor counts,
the preview says who is left out and why (opted out, blocked, quiet hours), and "Send me a test" sends the
draft to the merchant who wrote it only; in English and Arabic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.outreach import jobs
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.outreach_support import add_customer, outbox_rows, started

PREVIEW_ID = 4343
NORA = TgUser(id=900004, first_name="نورة", language_code="ar")  # a second merchant, Arabic


@pytest.fixture
def shop(harness):
    harness.app.bot_data["settings"].merchant_ids = (MERCHANT.id, NORA.id)
    return harness


async def preview(harness, merchant: TgUser, text: str) -> dict[str, str]:
    await harness.send(updates.command(merchant, text))
    return {data.split(":")[1]: data for _, data in harness.buttons_to(merchant)}


def broadcast_texts(harness, chat_id: int, words: str) -> list[str]:
    """The broadcast messages (not its preview) with these words that reached the chat."""
    previews = ("Broadcast to", "رسالة جماعية إلى")
    return [text for text in harness.texts_to(chat_id) if words in text and not text.startswith(previews)]


async def test_staff_are_left_out_and_the_preview_says_who_else_is(shop):
    harness = shop
    await started(harness, MERCHANT)  # merchants who use the bot are customers too
    await started(harness, NORA)
    ids = {chat: await add_customer(harness.db, chat) for chat in (8601, 8602, 8603, 8604)}
    await harness.send(updates.command(TgUser(id=8602), "/stop"))  # opted out of marketing
    await harness.send(updates.my_chat_member(TgUser(id=8603), old="member", new="kicked"))  # blocked

    buttons = await preview(harness, MERCHANT, "/broadcast all Autumn sale")
    text = harness.last_text_to(MERCHANT)
    assert "<b>2 customers</b>." in text
    assert "Left out: 1 opted out · 1 blocked the bot · 2 of the shop team" in text
    assert "quiet hours" not in text  # noon in the shop
    assert [label for label, _ in harness.buttons_to(MERCHANT)] == ["Send now", "Cancel", "🧪 Send me a test"]

    await harness.send(updates.callback(MERCHANT, buttons["go"], message_id=PREVIEW_ID))
    await jobs.dispatch(harness.app)
    rows = await outbox_rows(harness.db, "broadcast")
    assert sorted(row.customer_id for row in rows) == [ids[8601], ids[8604]], "the merchants get no row"
    assert broadcast_texts(harness, 8601, "Autumn sale") and broadcast_texts(harness, 8604, "Autumn sale")
    for chat_id in (8602, 8603, NORA.id):
        assert broadcast_texts(harness, chat_id, "Autumn sale") == []
    assert "2 of 2 sent" in harness.api.sent("editMessageText")[-1].params["text"]


async def test_the_preview_counts_customers_in_quiet_hours_in_arabic(shop):
    harness = shop
    harness.clock.set(datetime(2026, 3, 15, 22, 30, tzinfo=UTC))  # quiet hours: 21:00-09:00
    await started(harness, NORA)
    for telegram_id in (8611, 8612, 8613):
        await add_customer(harness.db, telegram_id, locale="ar")
    await harness.send(updates.command(TgUser(id=8613, language_code="ar"), "/stop"))
    await preview(harness, NORA, "/broadcast all عرض الخريف")
    text = harness.last_text_to(NORA)
    assert "<b>عميلان</b>." in text  # two: the dual, no number
    one, zero = "\u20681\u2069", "\u20680\u2069"
    assert f"المستبعدون: {one} ألغوا الاشتراك · {zero} حظروا البوت · {one} من فريق المتجر" in text
    assert "في ساعات الهدوء الآن: \u20682\u2069" in text
    assert [label for label, _ in harness.buttons_to(NORA)][-1] == "🧪 أرسل لي نسخة تجريبية"


async def test_send_me_a_test_goes_to_the_composing_merchant_only(shop):
    harness = shop
    await started(harness, NORA)
    await add_customer(harness.db, 8621)
    buttons = await preview(harness, MERCHANT, "/broadcast all Flash sale <i>now</i>")
    await harness.send(updates.callback(MERCHANT, buttons["test"], message_id=PREVIEW_ID))
    answer = harness.api.sent("answerCallbackQuery")[-1].params
    assert "Test sent to you only" in answer["text"] and not answer.get("show_alert")
    (test,) = broadcast_texts(harness, MERCHANT.id, "Flash sale")
    assert "Flash sale &lt;i&gt;now&lt;/i&gt;" in test and "/stop" in test, "exactly what customers will see"
    assert broadcast_texts(harness, NORA.id, "Flash sale") == [] and harness.texts_to(8621) == []
    assert await outbox_rows(harness.db) == [], "a test queues nothing"

    # The draft is still a draft: Send now goes to customers, and after it the test button is gone.
    await harness.send(updates.callback(MERCHANT, buttons["go"], message_id=PREVIEW_ID))
    await jobs.dispatch(harness.app)
    assert len(broadcast_texts(harness, 8621, "Flash sale")) == 1
    await harness.send(updates.callback(MERCHANT, buttons["test"], message_id=PREVIEW_ID))
    answer = harness.api.sent("answerCallbackQuery")[-1].params
    assert answer["show_alert"] and "already confirmed or cancelled" in answer["text"]
    assert len(broadcast_texts(harness, MERCHANT.id, "Flash sale")) == 1


async def test_an_arabic_merchant_gets_the_test_in_arabic(shop):
    harness = shop
    await started(harness, NORA)
    buttons = await preview(harness, NORA, "/broadcast all تخفيضات")
    await harness.send(updates.callback(NORA, buttons["test"], message_id=PREVIEW_ID))
    assert "أُرسلت النسخة التجريبية إليك وحدك" in harness.api.sent("answerCallbackQuery")[-1].params["text"]
    (test,) = broadcast_texts(harness, NORA.id, "تخفيضات")
    assert "أرسل /stop" in test


@pytest.mark.parametrize(
    ("data", "alert"),
    [
        ("bc:test:99999", "already confirmed or cancelled"),  # no such broadcast (any more)
        # Out of INTEGER range: the codec takes it for no button, the last-resort alert answers.
        ("bc:test:2147483648", "no longer active"),
        ("bc:test:99999999999999", "no longer active"),
    ],
)
async def test_a_stale_or_forged_test_button_gets_an_alert(shop, data, alert):
    harness = shop
    await harness.send(updates.callback(MERCHANT, data, message_id=PREVIEW_ID))
    answer = harness.api.sent("answerCallbackQuery")[-1].params
    assert answer["show_alert"] and alert in answer["text"]
    assert harness.texts_to(MERCHANT) == []
