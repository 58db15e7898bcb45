"""Sending localized replies: find the user's locale, render the template, send as HTML."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update, User

from bot.context import BotContext
from bot.i18n import normalize_locale
from bot.unit_of_work import current
from storage.customers import get_customer


async def user_locale(context: BotContext, user: User | None) -> str:
    """The customer's chosen locale, else their Telegram language, else the shop default."""
    default = context.settings.default_locale
    if user is None:
        return default
    unit = current()
    if unit is not None and unit.user_id == user.id:
        return context.locale  # resolved by the update's first step
    async with context.db.read_session() as session:
        customer = await get_customer(session, telegram_id=user.id)
    if customer is not None:
        return customer.locale
    return normalize_locale(user.language_code, default)


async def reply(
    update: Update,
    context: BotContext,
    template: str,
    /,
    *,
    locale: str | None = None,
    reply_markup: Any = None,
    **values: Any,
) -> Message | None:
    """Answer in the chat the update came from with `template` rendered in the user's locale."""
    chat = update.effective_chat
    if chat is None:
        return None
    locale = locale or await user_locale(context, update.effective_user)
    text = context.templates.render(locale, template, **values)
    return await context.bot.send_message(chat.id, text, parse_mode="HTML", reply_markup=reply_markup)


async def edit_or_reply(
    update: Update,
    context: BotContext,
    template: str,
    /,
    *,
    locale: str | None = None,
    reply_markup: Any = None,
    **values: Any,
) -> None:
    """For callback-button answers: replace the message that carried the buttons."""
    query = update.callback_query
    locale = locale or await user_locale(context, update.effective_user)
    text = context.templates.render(locale, template, **values)
    if query is not None and query.message is not None:
        await query.edit_message_text(text, parse_mode="HTML", reply_markup=reply_markup)
    else:
        await reply(update, context, template, locale=locale, reply_markup=reply_markup, **values)


async def answer_inactive(update: Update, context: BotContext) -> None:
    """Answer a tap on a button the bot no longer knows (expired, outdated, forged) with a short alert;
    nothing else happens."""
    query = update.callback_query
    if query is None:
        return
    locale = await user_locale(context, update.effective_user)
    await query.answer(context.templates.text(locale, "common/button_inactive.html"), show_alert=True)
