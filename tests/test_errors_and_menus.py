"""The error handler apologises in the user's language; menus are published per language and per merchant."""

from __future__ import annotations

import logging

from telegram.ext import CallbackQueryHandler, CommandHandler

from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import ApiError
from tests.fakes.updates import TgUser

NOUR = TgUser(id=6001, first_name="نور", language_code="ar")


async def test_a_failing_handler_is_logged_and_the_user_told_in_their_language(harness, caplog):
    async def explode(update, context):
        raise RuntimeError("boom")

    harness.app.handlers[0].insert(0, CommandHandler("explode", explode))
    await harness.send(updates.command(NOUR, "/start"))
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await harness.send(updates.command(NOUR, "/explode"), allow_errors=True)
    assert "حدث خطأ" in harness.last_text_to(NOUR)
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)
    assert "boom" not in harness.last_text_to(NOUR)


async def test_an_apology_that_cannot_be_delivered_does_not_raise(harness):
    async def explode(update, context):
        raise RuntimeError("boom")

    harness.app.handlers[0].insert(0, CommandHandler("explode", explode))
    harness.api.fail("sendMessage", ApiError(403, "Forbidden: bot was blocked by the user"), chat_id=NOUR.id)
    await harness.send(updates.command(NOUR, "/explode"), allow_errors=True)
    assert len(harness.errors) == 1


async def test_menus_are_published_for_each_language_and_each_merchant(harness):
    calls = harness.api.sent("setMyCommands")
    by_language = {
        call.params.get("language_code"): [c["command"] for c in call.params["commands"]]
        for call in calls
        if call.params.get("scope", {}).get("type") == "default"
    }
    assert set(by_language) == {None, "en", "ar"}
    assert "start" in by_language["ar"] and "forgetme" in by_language["en"]
    arabic = next(c for c in calls if c.params.get("language_code") == "ar")
    assert any("\u0600" <= ch <= "\u06ff" for ch in arabic.params["commands"][0]["description"])
    merchant_menu = {
        c.params.get("language_code"): c.params["commands"]
        for c in calls
        if c.params.get("scope", {}).get("chat_id") == MERCHANT.id
    }
    assert set(merchant_menu) == {None, "en", "ar"}
    assert len(merchant_menu[None]) >= len(by_language["en"])
    # An Arabic-speaking merchant gets the merchant menu in Arabic, not the shop's default language.
    assert any("\u0600" <= ch <= "\u06ff" for ch in merchant_menu["ar"][-1]["description"])
    assert merchant_menu["en"][-1]["description"].isascii()


async def test_a_failing_button_is_answered_and_apologised_for_even_without_the_database(harness):
    async def explode(update, context):
        raise RuntimeError("database is gone")

    harness.app.handlers[0].insert(0, CallbackQueryHandler(explode, pattern="^boom$"))
    database = harness.app.bot_data["db"]

    class Broken:
        def read_session(self):
            raise RuntimeError("database is gone")

    harness.app.bot_data["db"] = Broken()
    try:
        await harness.send(updates.callback(NOUR, "boom"), allow_errors=True)
    finally:
        harness.app.bot_data["db"] = database
    answered = harness.api.sent("answerCallbackQuery")
    assert answered, "the spinner on the tapped button must stop"
    assert "حدث خطأ" in harness.last_text_to(NOUR)  # Telegram's language, as the stored one is unreadable
