"""Outreach: the customer's /birthday and the merchant's /broadcast (preview, confirm, progress, stop)."""

from __future__ import annotations

from markupsafe import Markup
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.callback_kinds import BroadcastAction
from bot.callbacks import ButtonHandler
from bot.context import BotContext, env_of
from bot.merchants import merchant_only
from bot.outreach import broadcasts, rules
from bot.outreach.jobs import kick
from bot.replies import edit_or_reply, reply, user_locale
from bot.unit_of_work import handles
from bot.updates import message_of, query_of, user_of
from storage.outreach import birthday_changed_at, create_broadcast, set_birthday
from storage.typed import saved_id

CUSTOMER_COMMANDS = ("birthday",)
MERCHANT_COMMANDS = ("broadcast",)

# Telegram allows 4096 characters; leave room for the opt-out footer.
MAX_BROADCAST_CHARS = 3500
BUTTONS = "outreach/buttons.html"


@handles(writes=True, joins=True)
async def set_my_birthday(update: Update, context: BotContext) -> None:
    """/birthday [dd-mm[-yyyy]]: show or save the customer's birthday."""
    customer = context.customer
    if customer is None:
        raise RuntimeError("/birthday ran without its customer")
    locale = customer.locale
    settings, now = context.settings, context.clock.now()
    if not context.args:
        await reply(update, context, "outreach/birthday_ask.html", locale=locale, birthday=customer.birthday)
        return
    today = now.astimezone(settings.timezone).date()
    birthday = rules.parse_birthday(" ".join(context.args), today=today)
    if birthday is None:
        await reply(update, context, "outreach/birthday_invalid.html", locale=locale)
        return
    async with context.uow.writing() as session:
        await set_birthday(session, customer_id=saved_id(customer), birthday=birthday, now=now)
        # Re-sending the same date keeps the earlier change time: the lock it started still holds.
        changed_at = await birthday_changed_at(session, customer_id=saved_id(customer))
    upcoming = rules.next_birthday(birthday, today)
    gift = rules.earns_reward(changed_at, upcoming, settings.timezone, settings.outreach_birthday_lock_days)
    await reply(
        update,
        context,
        "outreach/birthday_saved.html",
        locale=locale,
        birthday=birthday,
        gift=gift and settings.outreach_birthday_points > 0,
        points=settings.outreach_birthday_points,
        lock_days=settings.outreach_birthday_lock_days,
    )


@merchant_only
async def start_broadcast(update: Update, context: BotContext) -> None:
    """/broadcast <segment> <message>: preview who gets what, with Send and Cancel buttons."""
    parts = (message_of(update).text or "").split(maxsplit=2)
    segments = rules.segment_names(context.settings)
    if len(parts) < 3 or parts[1].lower() not in segments or not parts[2].strip():
        await reply(update, context, "outreach/broadcast_usage.html", segments=segments)
        return
    segment, text = parts[1].lower(), parts[2].strip()
    if len(text) > MAX_BROADCAST_CHARS:
        await reply(update, context, "outreach/broadcast_too_long.html", limit=MAX_BROADCAST_CHARS)
        return
    env = env_of(context)
    audience = await broadcasts.audience(env, segment)
    async with context.uow.writing() as session:
        broadcast = await create_broadcast(session, created_by=user_of(update).id, segment=segment, text=text)
    locale = await user_locale(context, update.effective_user)
    label = context.templates.label
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(locale, BUTTONS, "send"),
                    callback_data=BroadcastAction("go", saved_id(broadcast)).pack(),
                ),
                InlineKeyboardButton(
                    label(locale, BUTTONS, "cancel"),
                    callback_data=BroadcastAction("no", saved_id(broadcast)).pack(),
                ),
            ],
            [
                InlineKeyboardButton(
                    label(locale, BUTTONS, "test"),
                    callback_data=BroadcastAction("test", saved_id(broadcast)).pack(),
                )
            ],
        ]
    )
    await reply(
        update,
        context,
        "outreach/broadcast_preview.html",
        locale=locale,
        reply_markup=keyboard,
        segment=segment,
        count=len(audience.recipients),
        audience=audience,
        # The customer's message as rendered by its autoescaping template: the merchant's words are escaped.
        preview=Markup(broadcasts.customer_text(env, locale, text)),  # noqa: S704
    )


@merchant_only
async def answer_broadcast(update: Update, context: BotContext) -> None:
    """Send, cancel or stop a broadcast from its buttons; the message then shows progress."""
    query = query_of(update)
    button = BroadcastAction.of(update)
    action, broadcast_id = button.action, button.broadcast_id
    env = env_of(context)
    if action == "test":  # only to the merchant who wrote it; the preview and its buttons stay
        locale = await user_locale(context, update.effective_user)
        sent = await broadcasts.send_test(env, broadcast_id=broadcast_id)
        notice = "outreach/broadcast_test_sent.html" if sent else "outreach/broadcast_gone.html"
        await query.answer(context.templates.text(locale, notice), show_alert=not sent)
        return
    await query.answer()
    if action == "go":
        shown = query.message
        if shown is None:  # the buttons are on a message the bot sent to a chat, never an inline one
            raise ValueError("broadcast buttons without their message")
        count = await broadcasts.launch(
            env, broadcast_id=broadcast_id, chat_id=shown.chat.id, message_id=shown.message_id
        )
        if count is None:
            await edit_or_reply(update, context, "outreach/broadcast_gone.html")
            return
        await broadcasts.refresh(env, {broadcast_id})
        kick(context)
        return
    stopped = await broadcasts.cancel(env, broadcast_id=broadcast_id)
    if action == "no":
        template = "outreach/broadcast_cancelled.html" if stopped else "outreach/broadcast_gone.html"
        await edit_or_reply(update, context, template)
        return
    await broadcasts.refresh(env, {broadcast_id})


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("birthday", set_my_birthday, filters=filters.ChatType.PRIVATE),
        CommandHandler("broadcast", start_broadcast),
        ButtonHandler(answer_broadcast, BroadcastAction),
    ]
