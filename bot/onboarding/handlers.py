"""Onboarding and preferences: /start, /help, /language, /stop, /forgetme, block/unblock tracking."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, ChatMemberHandler, CommandHandler, filters

from bot.callback_kinds import ForgetMe, PickLanguage
from bot.callbacks import ButtonHandler
from bot.commands import commands_for
from bot.context import BotContext
from bot.replies import answer_inactive, edit_or_reply, reply
from bot.settings import LOCALES
from bot.unit_of_work import Action, handles
from bot.updates import query_of, user_data_of, user_of
from storage import customers
from storage.models import Customer

logger = logging.getLogger(__name__)

CUSTOMER_COMMANDS = ("start", "help", "language", "stop", "forgetme")
MERCHANT_COMMANDS: tuple[str, ...] = ()


# `async def listener(update, context, session, *, customer, created, payload)` run inside /start's
# transaction (START_LISTENERS in bot/app.py); it may return a follow-up, sent after the welcome
# (referrals: "you were invited by …").
StartListener = Callable[..., Awaitable[Action | None]]
START_LISTENERS_KEY = "start_listeners"


def customer_of(context: BotContext) -> Customer:
    """The customer of an update whose handler joins (`@handles(joins=True)`) in a private chat."""
    customer = context.customer
    if customer is None:
        raise RuntimeError("a joining handler ran without its customer")
    return customer


@handles(writes=True, joins=True)
async def start(update: Update, context: BotContext) -> None:
    """Register the customer (or opt them back in) and send the welcome."""
    user = user_of(update)
    unit, customer = context.uow, customer_of(context)
    session = await unit.write()
    if not unit.created:
        await customers.rejoin(session, customer=customer)
    # Same transaction as the registration, so only the /start that created the customer attributes.
    for listener in context.bot_data.get(START_LISTENERS_KEY, ()):
        follow_up = await listener(
            update,
            context,
            session,
            customer=customer,
            created=unit.created,
            payload=context.args[0] if context.args else None,
        )
        if follow_up is not None:  # after the welcome and the news of orders waiting for them
            unit.later(follow_up)
    template = "onboarding/welcome.html" if unit.created else "onboarding/welcome_back.html"
    await reply(update, context, template, locale=customer.locale, name=user.first_name)


async def show_help(update: Update, context: BotContext) -> None:
    """List the commands this user can use."""
    user = update.effective_user
    locale = context.locale
    is_merchant = context.settings.is_merchant(user.id if user else None)
    commands = commands_for(context.application, merchant=is_merchant)
    described = [(name, context.templates.text(locale, f"commands/{name}.html")) for name in commands]
    await reply(update, context, "onboarding/help.html", locale=locale, commands=described)


def language_keyboard(context: BotContext, locale: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            context.templates.label(option, "onboarding/buttons.html", "language_name"),
            callback_data=PickLanguage(option).pack(),
        )
        for option in LOCALES
    ]
    return InlineKeyboardMarkup([buttons])


@handles()
async def choose_language(update: Update, context: BotContext) -> None:
    """Offer the supported languages as inline buttons."""
    locale = context.locale
    await reply(
        update,
        context,
        "onboarding/choose_language.html",
        locale=locale,
        reply_markup=language_keyboard(context, locale),
    )


@handles(writes=True, joins=True)
async def set_language(update: Update, context: BotContext) -> None:
    """Save the language picked with a button and confirm in that language."""
    query = query_of(update)
    locale = PickLanguage.of(update).locale
    if locale not in LOCALES:
        await answer_inactive(update, context)
        return
    await customers.set_locale(
        await context.uow.write(),
        telegram_id=customer_of(context).telegram_id or query.from_user.id,
        locale=locale,
    )
    await query.answer()
    await edit_or_reply(update, context, "onboarding/language_set.html", locale=locale)


@handles(writes=True, joins=True)
async def stop_marketing(update: Update, context: BotContext) -> None:
    """Opt out of marketing messages; service replies keep working."""
    session = await context.uow.write()
    await customers.set_marketing_opt_in(session, telegram_id=user_of(update).id, opt_in=False)
    await reply(update, context, "onboarding/stopped.html", locale=context.locale)


@handles()
async def ask_forget(update: Update, context: BotContext) -> None:
    """Ask for confirmation before erasing the customer's personal data."""
    locale = context.locale
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.templates.label(locale, "onboarding/buttons.html", "forget_confirm"),
                    callback_data=ForgetMe("yes").pack(),
                ),
                InlineKeyboardButton(
                    context.templates.label(locale, "onboarding/buttons.html", "cancel"),
                    callback_data=ForgetMe("no").pack(),
                ),
            ]
        ]
    )
    await reply(update, context, "onboarding/forget_confirm.html", locale=locale, reply_markup=keyboard)


@handles(writes=True)
async def confirm_forget(update: Update, context: BotContext) -> None:
    """Erase personal data on "yes", leave everything as it was on "cancel"."""
    query = query_of(update)
    locale = context.locale
    if ForgetMe.of(update).answer != "yes":
        await query.answer()
        await edit_or_reply(update, context, "onboarding/forget_cancelled.html", locale=locale)
        return
    await customers.forget_customer(await context.uow.write(), telegram_id=query.from_user.id)
    await query.answer()
    user_data_of(context).clear()
    await edit_or_reply(update, context, "onboarding/forgotten.html", locale=locale)


@handles(writes=True)
async def track_block(update: Update, context: BotContext) -> None:
    """Mark the customer unreachable when they block the bot, reachable again when they unblock."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    reachable = status not in (ChatMember.BANNED, ChatMember.LEFT)
    session = await context.uow.write()
    await customers.set_reachable(session, telegram_id=change.from_user.id, reachable=reachable)
    logger.info("Customer %s is now %s", change.from_user.id, "reachable" if reachable else "unreachable")


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private),
        CommandHandler("help", show_help),
        CommandHandler("language", choose_language, filters=private),
        ButtonHandler(set_language, PickLanguage),
        CommandHandler("stop", stop_marketing, filters=private),
        CommandHandler("forgetme", ask_forget, filters=private),
        ButtonHandler(confirm_forget, ForgetMe),
        ChatMemberHandler(track_block, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
