"""Onboarding and preferences: /start, /help, /language, /stop, /forgetme, block/unblock tracking."""

from __future__ import annotations

import logging
import re

from telegram import ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ChatMemberHandler, CommandHandler, filters

from bot.commands import commands_for
from bot.context import BotContext
from bot.i18n import normalize_locale
from bot.loyalty import membership as loyalty
from bot.referrals import start_reply as referrals
from bot.referrals.service import attribute_on_start
from bot.replies import edit_or_reply, reply, user_locale
from bot.settings import LOCALES
from bot.updates import data_of, profile_of, query_of, user_data_of, user_of
from storage import customers

logger = logging.getLogger(__name__)

CUSTOMER_COMMANDS = ("start", "help", "language", "stop", "forgetme")
MERCHANT_COMMANDS: tuple[str, ...] = ()

# Telegram allows 1-64 characters from this set in a deep-link payload.
START_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def start(update: Update, context: BotContext) -> None:
    """Register the customer (or opt them back in) and send the welcome."""
    user = user_of(update)
    payload = context.args[0] if context.args else None
    if payload is not None and not START_PAYLOAD.match(payload):
        payload = None
    locale = normalize_locale(user.language_code, context.settings.default_locale)
    async with context.db.session() as session:
        customer, created = await customers.register_customer(
            session, profile=profile_of(update), locale=locale, start_payload=payload
        )
        locale = customer.locale
        # Same transaction as the registration, so only the /start that created the customer attributes.
        invitation = await attribute_on_start(
            session,
            settings=context.settings,
            now=context.clock.now(),
            customer=customer,
            created=created,
            payload=context.args[0] if context.args else None,
        )
    template = "onboarding/welcome.html" if created else "onboarding/welcome_back.html"
    await reply(update, context, template, locale=locale, name=user.first_name)
    await loyalty.on_joined(update, context)  # member code, welcome bonus, orders waiting for them
    await referrals.answer_start(update, context, invitation, locale=locale)


async def show_help(update: Update, context: BotContext) -> None:
    """List the commands this user can use."""
    user = update.effective_user
    locale = await user_locale(context, user)
    is_merchant = context.settings.is_merchant(user.id if user else None)
    commands = commands_for(context.application, merchant=is_merchant)
    described = [(name, context.templates.text(locale, f"commands/{name}.html")) for name in commands]
    await reply(update, context, "onboarding/help.html", locale=locale, commands=described)


def language_keyboard(context: BotContext, locale: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            context.templates.label(option, "onboarding/buttons.html", "language_name"),
            callback_data=f"lang:{option}",
        )
        for option in LOCALES
    ]
    return InlineKeyboardMarkup([buttons])


async def choose_language(update: Update, context: BotContext) -> None:
    """Offer the supported languages as inline buttons."""
    locale = await user_locale(context, update.effective_user)
    await reply(
        update,
        context,
        "onboarding/choose_language.html",
        locale=locale,
        reply_markup=language_keyboard(context, locale),
    )


async def set_language(update: Update, context: BotContext) -> None:
    """Save the language picked with a button and confirm in that language."""
    query = query_of(update)
    locale = data_of(query).removeprefix("lang:")
    if locale not in LOCALES:
        await query.answer()
        return
    async with context.db.session() as session:
        await customers.ensure_customer(session, profile=profile_of(update), locale=locale)
        await customers.set_locale(session, telegram_id=query.from_user.id, locale=locale)
    await query.answer()
    await edit_or_reply(update, context, "onboarding/language_set.html", locale=locale)


async def stop_marketing(update: Update, context: BotContext) -> None:
    """Opt out of marketing messages; service replies keep working."""
    locale = await user_locale(context, update.effective_user)
    async with context.db.session() as session:
        await customers.ensure_customer(session, profile=profile_of(update), locale=locale)
        await customers.set_marketing_opt_in(session, telegram_id=user_of(update).id, opt_in=False)
    await reply(update, context, "onboarding/stopped.html", locale=locale)


async def ask_forget(update: Update, context: BotContext) -> None:
    """Ask for confirmation before erasing the customer's personal data."""
    locale = await user_locale(context, update.effective_user)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.templates.label(locale, "onboarding/buttons.html", "forget_confirm"),
                    callback_data="forget:yes",
                ),
                InlineKeyboardButton(
                    context.templates.label(locale, "onboarding/buttons.html", "cancel"),
                    callback_data="forget:no",
                ),
            ]
        ]
    )
    await reply(update, context, "onboarding/forget_confirm.html", locale=locale, reply_markup=keyboard)


async def confirm_forget(update: Update, context: BotContext) -> None:
    """Erase personal data on "yes", leave everything as it was on "cancel"."""
    query = query_of(update)
    locale = await user_locale(context, update.effective_user)
    await query.answer()
    if query.data != "forget:yes":
        await edit_or_reply(update, context, "onboarding/forget_cancelled.html", locale=locale)
        return
    async with context.db.session() as session:
        await customers.forget_customer(session, telegram_id=query.from_user.id)
    user_data_of(context).clear()
    await edit_or_reply(update, context, "onboarding/forgotten.html", locale=locale)


async def track_block(update: Update, context: BotContext) -> None:
    """Mark the customer unreachable when they block the bot, reachable again when they unblock."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    reachable = status not in (ChatMember.BANNED, ChatMember.LEFT)
    async with context.db.session() as session:
        await customers.set_reachable(session, telegram_id=change.from_user.id, reachable=reachable)
    logger.info("Customer %s is now %s", change.from_user.id, "reachable" if reachable else "unreachable")


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private),
        CommandHandler("help", show_help),
        CommandHandler("language", choose_language, filters=private),
        CallbackQueryHandler(set_language, pattern=r"^lang:"),
        CommandHandler("stop", stop_marketing, filters=private),
        CommandHandler("forgetme", ask_forget, filters=private),
        CallbackQueryHandler(confirm_forget, pattern=r"^forget:(yes|no)$"),
        ChatMemberHandler(track_block, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
