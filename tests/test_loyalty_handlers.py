"""Loyalty through the real bot: /balance, /history, /rewards + redeem, /card, phone sharing, /award."""

from __future__ import annotations

import re
from datetime import timedelta

from storage.customers import get_customer
from storage.models import Order
from storage.orders import get_order
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import blocked_by_user
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import balance, ingest

NORA = TgUser(id=6001, first_name="Nora", language_code="en")
SAMI = TgUser(id=6002, first_name="سامي", language_code="ar")


async def customer(harness, user):
    async with harness.db.read_session() as session:
        return await get_customer(session, telegram_id=user.id)


async def start(harness, user):
    await harness.send(updates.command(user, "/start"))
    return await customer(harness, user)


async def give(harness, user, amount_minor, order_id, days_ago=20):
    stored = await customer(harness, user)
    now = harness.clock.now()
    settings = harness.app.bot_data["settings"]
    return await ingest(
        harness.db,
        settings,
        order_id,
        amount_minor,
        now=now,
        customer_id=stored.id,
        ordered_at=now - timedelta(days=days_ago),
    )


async def test_start_gives_member_code_and_welcome_bonus_shown_in_balance(harness):
    stored = await start(harness, NORA)
    assert "Welcome to Test Shop" in harness.last_text_to(NORA)
    await harness.send(updates.command(NORA, "/balance"))
    text = harness.last_text_to(NORA)
    assert "Available: <b>50</b>" in text and "Tier: <b>Bronze</b>" in text
    assert stored.member_code in text and "$500.00 more to reach Silver" in text
    assert "▱▱▱▱▱▱▱▱▱▱" in text


async def test_balance_shows_pending_and_progress_in_arabic(harness):
    await start(harness, SAMI)
    await give(harness, SAMI, 25_000, "ar-1", days_ago=100)
    await give(harness, SAMI, 1_000, "ar-2", days_ago=1)
    await harness.send(updates.command(SAMI, "/balance"))
    text = harness.last_text_to(SAMI)
    assert "المتاحة" in text and "\u2068300\u2069" in text and "\u206810\u2069" in text
    assert "▰▰▰▰▰▱▱▱▱▱" in text and "الفضي" in text and "Silver" not in text and "Bronze" not in text


async def test_history_pages_with_inline_buttons(harness):
    await start(harness, NORA)
    for n in range(6):
        await give(harness, NORA, 1_000 * (n + 1), f"h{n}")
    await harness.send(updates.command(NORA, "/history"))
    first = harness.last_text_to(NORA)
    assert "page 1 of 2" in first and "+60" in first and "h5" in first and "Welcome" not in first
    assert harness.buttons_to(NORA) == [("Older ›", "loy:h:1")]
    await harness.send(updates.callback(NORA, "loy:h:1"))
    edit = harness.api.sent("editMessageText", chat_id=NORA.id)[-1]
    assert "page 2 of 2" in edit.text and "Welcome bonus" in edit.text
    assert [b["callback_data"] for row in edit.params["reply_markup"]["inline_keyboard"] for b in row] == [
        "loy:h:0"
    ]


async def test_redeem_with_confirmation_returns_a_unique_coupon_once(harness):
    await start(harness, NORA)
    await give(harness, NORA, 20_000, "big")
    await harness.send(updates.command(NORA, "/rewards"))
    assert "you have 250 points" in harness.last_text_to(NORA)
    assert ("Free coffee · 100 pts", "loy:r:COFFEE") in harness.buttons_to(NORA)
    await harness.send(updates.callback(NORA, "loy:r:COFFEE"))
    confirm = harness.api.sent("editMessageText", chat_id=NORA.id)[-1]
    yes = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert re.fullmatch(r"loy:y:COFFEE:[0-9a-f]{12}", yes)
    await harness.send(updates.callback(NORA, yes))
    await harness.send(updates.callback(NORA, yes))  # double tap
    texts = [call.text for call in harness.api.sent("editMessageText", chat_id=NORA.id)[-2:]]
    codes = {re.search(r"<code>(R[A-Z0-9]{8})</code>", text).group(1) for text in texts}
    assert len(codes) == 1 and "Points left: 150" in texts[0]
    stored = await customer(harness, NORA)
    settings = harness.app.bot_data["settings"]
    assert (await balance(harness.db, settings, stored.id, harness.clock.now())).available == 150


async def test_redeem_refused_without_enough_points_and_cancel_changes_nothing(harness):
    await start(harness, NORA)
    await harness.send(updates.callback(NORA, "loy:r:15PCT"))
    yes = harness.api.sent("editMessageText", chat_id=NORA.id)[-1].params["reply_markup"]
    await harness.send(updates.callback(NORA, yes["inline_keyboard"][0][0]["callback_data"]))
    assert "needs 600 points; you have 50" in harness.api.sent("editMessageText", chat_id=NORA.id)[-1].text
    await harness.send(updates.callback(NORA, "loy:n"))
    assert "untouched" in harness.api.sent("editMessageText", chat_id=NORA.id)[-1].text
    await harness.send(updates.callback(NORA, "loy:r:NOPE"))
    assert "no longer available" in harness.api.sent("editMessageText", chat_id=NORA.id)[-1].text


async def test_card_sends_qr_photo_with_member_code_and_offers_phone_button(harness):
    stored = await start(harness, NORA)
    await harness.send(updates.command(NORA, "/card"))
    photo = harness.api.sent("sendPhoto", chat_id=NORA.id)[-1]
    assert stored.member_code in photo.params["caption"]
    upload = photo.params["_files"]["photo"]
    content = upload[1] if isinstance(upload, tuple) else upload
    assert bytes(content).startswith(b"\x89PNG")
    keyboard = harness.last_markup_to(NORA)["keyboard"]
    assert keyboard[0][0]["request_contact"] is True


async def test_shared_phone_links_earlier_shop_orders(harness):
    settings = harness.app.bot_data["settings"]
    await ingest(harness.db, settings, "shop-9", 4_200, now=harness.clock.now(), customer_ref="+15550001111")
    await start(harness, NORA)
    await harness.send(updates.contact(NORA, "15550001111"))
    assert "found 1 earlier order and added 42 points" in harness.last_text_to(NORA)
    assert (await customer(harness, NORA)).phone == "+15550001111"
    await harness.send(updates.contact(NORA, "15550001111"))
    assert "earlier order" not in harness.last_text_to(NORA)


async def test_someone_elses_contact_is_refused(harness):
    await start(harness, NORA)
    other = updates.message(NORA, contact={"phone_number": "+15550002222", "first_name": "X", "user_id": 42})
    await harness.send(other)
    assert "your own phone number" in harness.last_text_to(NORA)
    assert (await customer(harness, NORA)).phone is None


async def test_award_by_member_code_confirms_and_notifies_customer(harness):
    stored = await start(harness, SAMI)
    await harness.send(updates.command(MERCHANT, f"/award {stored.member_code} 25.50 A-77"))
    assert "25 points for سامي" in harness.last_text_to(MERCHANT)
    note = harness.last_text_to(SAMI)
    assert "ربحت" in note and "\u206825\u2069" in note and "A-77" in note
    await harness.send(updates.command(MERCHANT, f"/award {stored.member_code} 25.50 A-77"))
    assert "already recorded" in harness.last_text_to(MERCHANT)
    async with harness.db.read_session() as session:
        assert (await get_order(session, external_id="A-77")).source == "award"


async def test_award_without_order_id_uses_the_message_and_telegram_id(harness):
    await start(harness, NORA)
    await harness.send(updates.command(MERCHANT, f"/award {NORA.id} 10"))
    assert "10 points for Nora" in harness.last_text_to(MERCHANT)
    assert "tg-" in harness.last_text_to(MERCHANT)
    note = harness.last_text_to(NORA)
    assert "You earned <b>10 points</b>" in note and "become available on Mar 29, 2026" in note


async def test_award_for_phone_not_yet_in_telegram_is_kept_then_linked(harness):
    await harness.send(updates.command(MERCHANT, "/award +15553334444 30"))
    assert "not in the bot yet" in harness.last_text_to(MERCHANT)
    await start(harness, NORA)
    await harness.send(updates.contact(NORA, "+1 555 333 4444"))
    assert "added 30 points" in harness.last_text_to(NORA)


async def test_award_bad_input_changes_nothing(harness):
    stored = await start(harness, NORA)
    bad = [
        "/award",
        f"/award {stored.member_code}",
        f"/award {stored.member_code} -5",
        f"/award {stored.member_code} 0",
        f"/award {stored.member_code} 99999999",
        "/award hello 5",
        f"/award {stored.member_code} 1.234",
        "/award MZZZZZZZ 5",
    ]
    replies = []
    for text in bad:
        await harness.send(updates.command(MERCHANT, text))
        replies.append(harness.last_text_to(MERCHANT))
    assert "Usage" in replies[0] and "Usage" in replies[1] and "Usage" in replies[5]
    assert "positive number" in replies[2] and "more than zero" in replies[3]
    assert "above the limit" in replies[4] and "too many decimals" in replies[6]
    assert "No member has the code MZZZZZZZ" in replies[7]
    async with harness.db.read_session() as session:
        assert (await session.exec(Order.__table__.select())).all() == []


async def test_customers_cannot_award(harness):
    stored = await start(harness, NORA)
    await harness.send(updates.command(NORA, f"/award {stored.member_code} 500"))
    assert "shop team" in harness.last_text_to(NORA)
    async with harness.db.read_session() as session:
        assert (await session.exec(Order.__table__.select())).all() == []


async def test_history_button_past_the_end_shows_the_last_page(harness):
    await start(harness, NORA)
    await harness.send(updates.callback(NORA, "loy:h:999"))
    edit = harness.api.sent("editMessageText", chat_id=NORA.id)[-1]
    assert "page 1 of 1" in edit.text and "Welcome bonus" in edit.text


async def test_award_still_confirms_when_the_customer_blocked_the_bot(harness):
    stored = await start(harness, NORA)
    harness.api.fail("sendMessage", blocked_by_user(), chat_id=NORA.id)
    await harness.send(updates.command(MERCHANT, f"/award {stored.member_code} 12 B-1"))
    assert "12 points for Nora" in harness.last_text_to(MERCHANT)
