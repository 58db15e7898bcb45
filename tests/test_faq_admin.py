"""The merchants' FAQ editor in chat: list, add and edit in steps (with Keep and Cancel), delete with a
confirmation, gaps, and bad input that changes nothing."""

from __future__ import annotations

from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.faq_support import AMIRA, JOHN, entries, entry, tap_data


async def say(harness, text: str) -> str:
    await harness.send(
        updates.message(MERCHANT, text) if not text.startswith("/") else updates.command(MERCHANT, text)
    )
    return harness.last_text_to(MERCHANT)


async def test_list_shows_ids_codes_and_votes(harness):
    text = await say(harness, "/faq list ar")
    returns = await entry(harness, "returns", "ar")
    assert f"<b>{returns.id}</b> · returns · ar · 👁 0 · 👍 0 · 👎 0" in text
    assert "ما هي سياسة الاسترجاع؟ (+4 phrasings)" in text and " · en · " not in text
    assert "FAQ editor" in await say(harness, "/faq list fr")
    assert "FAQ editor" in await say(harness, "/faq frobnicate")


async def test_add_an_entry_in_three_steps_and_customers_find_it(harness):
    assert "step 1 of 3" in await say(harness, "/faq add en gift_cards")
    assert [label for label, _ in harness.buttons_to(MERCHANT)] == ["Cancel"]
    assert "Step 2 of 3" in await say(harness, "Do you sell gift cards?")
    assert "Step 3 of 3" in await say(harness, "gift card\nvoucher")
    saved = await say(harness, "Yes: gift cards of 50, 100 and 200 at checkout.")
    added = await entry(harness, "gift_cards", "en")
    assert f"Saved FAQ entry <b>#{added.id}</b>" in saved
    assert (added.question, added.phrasing_list) == ("Do you sell gift cards?", ["gift card", "voucher"])
    # Customers get it at once (the matching cache was refreshed), and staff can send it with /r.
    await harness.send(updates.message(JOHN, "do you have vouchers?"))
    assert "gift cards of 50, 100 and 200" in harness.last_text_to(JOHN)
    # The merchant's text is no longer a step once the entry is saved.
    assert "gift cards of 50" in await say(harness, "voucher")


async def test_add_refuses_bad_arguments_and_existing_codes(harness):
    assert "FAQ editor" in await say(harness, "/faq add")
    assert "FAQ editor" in await say(harness, "/faq add de shipping")
    assert "FAQ editor" in await say(harness, "/faq add en Bad-Code!")
    shipping = await entry(harness, "shipping", "en")
    assert f"/faq edit {shipping.id}" in await say(harness, "/faq add en shipping")


async def test_cancel_by_button_or_command_changes_nothing(harness):
    await say(harness, "/faq add ar gifts")
    before = len(await entries(harness))
    await say(harness, "هل لديكم بطاقات هدايا؟")
    await harness.send(updates.callback(MERCHANT, tap_data(harness, MERCHANT)["Cancel"]))
    assert "Cancelled" in harness.api.sent("editMessageText", chat_id=MERCHANT.id)[-1].text
    assert len(await entries(harness)) == before
    # After cancelling, the merchant's text is a question to the FAQ again.
    assert "couldn't find an answer" in await say(harness, "gift cards")
    await say(harness, "/faq add en gifts")
    assert "Cancelled" in await say(harness, "/faq cancel")
    assert "nothing to cancel" in await say(harness, "/faq cancel")


async def test_edit_keeps_or_replaces_each_text(harness):
    hours = await entry(harness, "hours", "en")
    prompt = await say(harness, f"/faq edit {hours.id}")
    assert ".\nNow: What are your working hours?" in prompt  # not run into the step's sentence
    assert [label for label, _ in harness.buttons_to(MERCHANT)] == ["Keep as is", "Cancel"]
    await harness.send(updates.callback(MERCHANT, tap_data(harness, MERCHANT)["Keep as is"]))
    assert "when are you open" in harness.last_text_to(MERCHANT), "step 2 shows the current phrasings"
    await say(harness, "-")
    await say(harness, "We answer every day, 10:00-22:00.")
    edited = await entry(harness, "hours", "en")
    assert (edited.question, edited.phrasing_list, edited.answer) == (
        "What are your working hours?",
        [],
        "We answer every day, 10:00-22:00.",
    )
    assert "no FAQ entry #999" in await say(harness, "/faq edit 999")


async def test_overlong_text_is_refused_and_the_step_repeated(harness):
    await say(harness, "/faq add en long")
    assert "1 to 300 characters" in await say(harness, "x" * 301)
    assert "Step 2 of 3" in await say(harness, "A fine question?")


async def test_delete_asks_first(harness):
    sizes = await entry(harness, "sizes", "ar")
    assert "Delete FAQ entry <b>#" in await say(harness, f"/faq delete {sizes.id}")
    await harness.send(updates.callback(MERCHANT, tap_data(harness, MERCHANT)["Delete"]))
    assert f"entry #{sizes.id} deleted" in harness.api.sent("editMessageText", chat_id=MERCHANT.id)[-1].text
    assert sizes.id not in [item.id for item in await entries(harness)]
    await harness.send(updates.message(AMIRA, "جدول المقاسات"))
    assert "لم أجد إجابة" in harness.last_text_to(AMIRA)


async def test_gaps_count_the_same_question_together(harness):
    assert "found an answer" in await say(harness, "/faq gaps")
    for text in ("Do you sell gift cards?", "do you sell GIFT cards", "هل لديكم فرع في جدة؟"):
        await harness.send(updates.message(JOHN if text.isascii() else AMIRA, text))
    harness.clock.advance(days=29)
    await harness.send(updates.message(JOHN, "Is there a loyalty app?"))
    text = await say(harness, "/faq gaps")
    assert "last 30 days" in text and "2× (en)" in text and "1× (ar) هل لديكم فرع في جدة؟" in text
    assert text.index("2×") < text.index("loyalty app"), "most asked first"
    harness.clock.advance(days=2)
    assert "loyalty app" in await say(harness, "/faq gaps") and "gift" not in harness.last_text_to(MERCHANT)


async def test_customer_text_is_never_a_merchant_step(harness):
    await say(harness, "/faq add en gifts")
    await harness.send(updates.message(JOHN, "where is my order"))
    assert "tracking link" in harness.last_text_to(JOHN)
    assert "Step 2 of 3" in await say(harness, "Gift cards?")
