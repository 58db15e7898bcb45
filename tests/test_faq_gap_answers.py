"""/faq gaps through the fake Bot API: an "Answer this" button on each unanswered question opens the FAQ
editor with the question filled in, in English and Arabic; customers and stale or forged buttons get an
alert and change nothing."""

from __future__ import annotations

import pytest

from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.faq_support import AMIRA, JOHN, entries, gaps

NORA = TgUser(id=900003, first_name="نورة", language_code="ar")  # a merchant who reads Arabic


@pytest.fixture
def staff(harness):
    harness.app.bot_data["settings"].merchant_ids = (MERCHANT.id, NORA.id)
    return harness


async def say(harness, user: TgUser, text: str) -> str:
    update = updates.command(user, text) if text.startswith("/") else updates.message(user, text)
    await harness.send(update)
    return harness.last_text_to(user)


def last_answer(harness) -> dict:
    return harness.api.sent("answerCallbackQuery")[-1].params


async def test_answer_this_opens_the_editor_with_the_question_filled_in(staff):
    harness = staff
    await say(harness, JOHN, "Do you sell gift cards?")
    await say(harness, JOHN, "do you sell GIFT cards")
    (_, second) = await gaps(harness)
    await say(harness, MERCHANT, "/faq gaps")
    assert harness.buttons_to(MERCHANT) == [("✏️ Answer: do you sell GIFT cards", f"faqgap:{second.id}")]

    await harness.send(updates.callback(MERCHANT, f"faqgap:{second.id}"))
    assert "text" not in last_answer(harness), "the tap is answered"
    prompt = harness.last_text_to(MERCHANT)
    assert "<b>sell_gift_cards</b> (en) — step 1 of 3" in prompt and "Now: do you sell GIFT cards" in prompt
    assert [label for label, _ in harness.buttons_to(MERCHANT)] == ["Keep as is", "Cancel"]

    await harness.send(updates.callback(MERCHANT, "faqkeep"))
    assert "Step 2 of 3" in harness.last_text_to(MERCHANT)
    await say(harness, MERCHANT, "gift card\nvoucher")
    assert "Saved FAQ entry" in await say(harness, MERCHANT, "Yes: gift cards of 50, 100, 200 at checkout.")
    saved = [entry for entry in await entries(harness) if entry.code == "sell_gift_cards"]
    assert [(e.locale, e.question, e.phrasing_list) for e in saved] == [
        ("en", "do you sell GIFT cards", ["gift card", "voucher"])
    ]
    assert await gaps(harness) == [], "the answered wording leaves /faq gaps"
    assert "found an answer" in await say(harness, MERCHANT, "/faq gaps")
    assert "gift cards of 50" in await say(harness, JOHN, "Do you sell gift cards?")


async def test_an_arabic_gap_in_arabic_for_an_arabic_speaking_merchant(staff):
    harness = staff
    await say(harness, AMIRA, "هل لديكم فرع في جدة؟")
    (gap,) = await gaps(harness)
    await say(harness, NORA, "/start")
    assert "اضغط ✏️" in await say(harness, NORA, "/faq gaps")
    ((label, data),) = harness.buttons_to(NORA)
    assert label.startswith("✏️ أجب: ") and "هل لديكم فرع في جدة؟" in label and data == f"faqgap:{gap.id}"

    await harness.send(updates.callback(NORA, data))
    prompt = harness.last_text_to(NORA)
    assert f"gap_{gap.id}" in prompt and "هل لديكم فرع في جدة؟" in prompt
    await say(harness, NORA, "هل يوجد فرع في جدة؟")  # a better wording replaces the customer's
    await say(harness, NORA, "-")
    await say(harness, NORA, "نعم، في حي الروضة.")
    (saved,) = [entry for entry in await entries(harness) if entry.code == f"gap_{gap.id}"]
    assert (saved.locale, saved.question) == ("ar", "هل يوجد فرع في جدة؟")
    assert await gaps(harness) == []

    # The button of a gap answered since then is no longer active: an alert in the merchant's language.
    await harness.send(updates.callback(NORA, data))
    assert last_answer(harness)["show_alert"] and "لم يعد هذا السؤال" in last_answer(harness)["text"]


@pytest.mark.parametrize(
    ("data", "alert"),
    [
        ("faqgap:99999", "no longer in the list"),  # a gap id that is not (or no longer) there
        # Out of INTEGER range or no id: the codec takes it for no button, the last-resort alert answers.
        ("faqgap:2147483648", "no longer active"),
        ("faqgap:99999999999", "no longer active"),
        ("faqgap:x", "no longer active"),
    ],
)
async def test_stale_or_forged_gap_buttons_get_an_alert(staff, data, alert):
    harness = staff
    await harness.send(updates.callback(MERCHANT, data))
    answer = last_answer(harness)
    assert answer["show_alert"] and alert in answer["text"]
    assert harness.texts_to(MERCHANT) == [], "nothing else is sent"


async def test_a_customer_tapping_a_gap_button_is_refused_with_an_alert(staff):
    harness = staff
    await say(harness, JOHN, "Do you sell gift cards?")
    (gap,) = await gaps(harness)
    before = len(harness.texts_to(JOHN))
    await harness.send(updates.callback(JOHN, f"faqgap:{gap.id}"))
    answer = last_answer(harness)
    assert answer["show_alert"] and "for the shop team only" in answer["text"]
    assert len(harness.texts_to(JOHN)) == before
    await say(harness, JOHN, "Thanks for nothing, how about vouchers?")
    assert len(await gaps(harness)) == 2, "the customer's text is no editor step"
    await harness.send(updates.callback(AMIRA, f"faqgap:{gap.id}"))
    assert "مخصص لفريق المتجر فقط" in last_answer(harness)["text"]
