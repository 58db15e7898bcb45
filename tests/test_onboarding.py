"""Onboarding: /start in both languages, deep-link payloads, /language, /stop, /forgetme, block tracking."""

from __future__ import annotations

from telegram.ext import CommandHandler

from bot.merchants import merchant_only
from storage.customers import get_customer, get_customer_by_id
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.updates import TgUser

AMIRA = TgUser(id=5001, first_name="أميرة", language_code="ar")
JOHN = TgUser(id=5002, first_name="John", language_code="en-GB")
PIERRE = TgUser(id=5003, first_name="Pierre", language_code="fr")


async def customer(harness, user):
    async with harness.db.read_session() as session:
        return await get_customer(session, telegram_id=user.id)


async def test_start_registers_arabic_user_and_welcomes_in_arabic(harness):
    await harness.send(updates.command(AMIRA, "/start"))
    stored = await customer(harness, AMIRA)
    assert stored is not None and stored.locale == "ar" and stored.first_name == "أميرة"
    reply = harness.last_text_to(AMIRA)
    assert "أهلًا بك في" in reply and "Test Shop" in reply
    assert harness.api.sent(chat_id=AMIRA.id)[-1].params["parse_mode"] == "HTML"


async def test_start_registers_english_user_from_regional_language_code(harness):
    await harness.send(updates.command(JOHN, "/start"))
    assert (await customer(harness, JOHN)).locale == "en"
    assert "Welcome to Test Shop, John!" in harness.last_text_to(JOHN)


async def test_unsupported_language_falls_back_to_shop_default(harness):
    await harness.send(updates.command(PIERRE, "/start"))
    assert (await customer(harness, PIERRE)).locale == "en"


async def test_start_keeps_a_valid_deep_link_payload_only_on_first_contact(harness):
    await harness.send(updates.command(JOHN, "/start ref_AB12-x"))
    assert (await customer(harness, JOHN)).start_payload == "ref_AB12-x"
    await harness.send(updates.command(JOHN, "/start ref_other"))
    assert (await customer(harness, JOHN)).start_payload == "ref_AB12-x"
    # The referral feature answers the (invalid) invitation code after the welcome.
    assert "Welcome back" in harness.texts_to(JOHN)[-2]


async def test_garbled_payload_is_ignored(harness):
    await harness.send(updates.command(JOHN, "/start ref_<script>"))
    stored = await customer(harness, JOHN)
    assert stored is not None and stored.start_payload is None


async def test_names_are_html_escaped(harness):
    sneaky = TgUser(id=5010, first_name="<b>Eve</b>&", language_code="en")
    await harness.send(updates.command(sneaky, "/start"))
    assert "&lt;b&gt;Eve&lt;/b&gt;&amp;" in harness.last_text_to(sneaky)


async def test_arabic_reply_isolates_latin_values(harness):
    await harness.send(updates.command(AMIRA, "/start"))
    assert "\u2068Test Shop\u2069" in harness.last_text_to(AMIRA)


async def test_stop_opts_out_and_start_opts_back_in(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.command(JOHN, "/stop"))
    stored = await customer(harness, JOHN)
    assert stored.marketing_opt_in is False and stored.opted_out_at is not None
    assert "no longer receive offers" in harness.last_text_to(JOHN)
    await harness.send(updates.command(JOHN, "/start"))
    stored = await customer(harness, JOHN)
    assert stored.marketing_opt_in is True and stored.opted_out_at is None


async def test_language_switch_with_inline_buttons(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.command(JOHN, "/language"))
    assert harness.buttons_to(JOHN) == [("English", "lang:en"), ("العربية", "lang:ar")]
    await harness.send(updates.callback(JOHN, "lang:ar"))
    assert (await customer(harness, JOHN)).locale == "ar"
    edit = harness.api.sent("editMessageText", chat_id=JOHN.id)[-1]
    assert "العربية" in edit.text
    await harness.send(updates.command(JOHN, "/help"))
    assert "ما يمكنني فعله" in harness.last_text_to(JOHN)


async def test_forged_language_callback_changes_nothing(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.callback(JOHN, "lang:xx"))
    assert (await customer(harness, JOHN)).locale == "en"
    assert harness.api.sent("answerCallbackQuery")


async def test_help_shows_merchant_commands_only_to_merchants(harness):
    await harness.send(updates.command(JOHN, "/help"))
    customer_help = harness.last_text_to(JOHN)
    assert "/language" in customer_help and "/forgetme" in customer_help
    await harness.send(updates.command(MERCHANT, "/help"))
    merchant_help = harness.last_text_to(MERCHANT)
    assert len(merchant_help) >= len(customer_help)


async def test_forgetme_needs_confirmation(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.command(JOHN, "/forgetme"))
    assert [data for _, data in harness.buttons_to(JOHN)] == ["forget:yes", "forget:no"]
    await harness.send(updates.callback(JOHN, "forget:no"))
    assert (await customer(harness, JOHN)).first_name == "John"
    before = await customer(harness, JOHN)
    await harness.send(updates.callback(JOHN, "forget:yes"))
    assert await customer(harness, JOHN) is None
    async with harness.db.read_session() as session:
        erased = await get_customer_by_id(session, customer_id=before.id)
    assert erased.forgotten_at is not None and erased.marketing_opt_in is False
    assert (erased.first_name, erased.phone, erased.member_code, erased.birthday) == (None, None, None, None)
    assert "deleted" in harness.api.sent("editMessageText", chat_id=JOHN.id)[-1].text


async def test_block_and_unblock_track_reachability(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.my_chat_member(JOHN, old="member", new="kicked"))
    assert (await customer(harness, JOHN)).reachable is False
    await harness.send(updates.my_chat_member(JOHN, old="kicked", new="member"))
    assert (await customer(harness, JOHN)).reachable is True


async def test_unknown_command_sticker_photo_and_text_get_helpful_replies(harness):
    await harness.send(updates.command(AMIRA, "/start"))
    await harness.send(updates.command(AMIRA, "/frobnicate"))
    assert "لا أعرف هذا الأمر" in harness.last_text_to(AMIRA)
    await harness.send(updates.sticker(AMIRA))
    assert "الرسائل النصية" in harness.last_text_to(AMIRA)
    await harness.send(updates.photo(JOHN))
    assert "only read text messages" in harness.last_text_to(JOHN)
    await harness.send(updates.message(JOHN, "do you sell kites?"))
    # Words go to the FAQ, which offers a person when it has no answer; text it cannot read at all is
    # still not understood.
    assert "couldn't find an answer" in harness.last_text_to(JOHN)
    await harness.send(updates.message(JOHN, "🙂 ?!"))
    assert "didn't understand" in harness.last_text_to(JOHN)


async def test_merchant_only_guard_refuses_customers(harness):
    ran = []

    @merchant_only
    async def secret(update, context):
        ran.append(update.effective_user.id)

    # Same group as the fallback and ahead of it, as app.FEATURES registers feature handlers.
    harness.app.handlers[0].insert(0, CommandHandler("secret", secret))
    await harness.send(updates.command(AMIRA, "/secret"))
    assert ran == [] and "لفريق المتجر" in harness.texts_to(AMIRA)[-1]
    await harness.send(updates.command(MERCHANT, "/secret"))
    assert ran == [MERCHANT.id]
