"""Hand-off conversations: customers' messages relayed to the support chat while a conversation is open,
staff replies relayed back, canned replies (/r <code>) and /close, all by replying to a relayed message."""

from __future__ import annotations

import functools
import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, CommandHandler, MessageHandler, filters

from bot import fallback
from bot.context import BotContext, env_of
from bot.faq import handoff
from bot.merchants import Handler
from bot.replies import reply
from bot.surveys.jobs import request_survey_later
from bot.text_router import waiting
from bot.updates import chat_of, message_of, user_of
from storage import faq as faq_store
from storage import handoff as store
from storage.customers import get_customer_by_id
from storage.models import Customer, Handoff, HandoffState, SurveyKind, SurveyTrigger
from storage.typed import saved_id

logger = logging.getLogger(__name__)

CUSTOMER_COMMANDS: tuple[str, ...] = ()
MERCHANT_COMMANDS = ("r", "close")

# Staff replies are looked at before every other handler (group -1): a merchant's reply in their private
# chat would otherwise be read as free text.
STAFF_GROUP = -1


def is_staff(update: Update, context: BotContext) -> bool:
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and handoff.is_support_chat(context.settings, chat.id):
        # Everyone in the support group is shop staff; a private chat set as SUPPORT_CHAT_ID is the staffer's.
        return True
    return user is not None and context.settings.is_merchant(user.id)


def staff_only(handler: Handler) -> Handler:
    """Like merchant_only, but members of the support group count as staff too."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if not is_staff(update, context):
            await reply(update, context, "common/merchants_only.html")
            return
        await handler(update, context)

    return guarded


async def note(update: Update, context: BotContext, template: str, **values) -> None:
    """A short note to staff, in the shop's language, in the chat they wrote in."""
    await reply(update, context, template, locale=context.settings.default_locale, **values)


async def conversation_replied_to(
    update: Update, context: BotContext
) -> tuple[Handoff, Customer | None] | None:
    """The conversation of the relayed message staff replied to; None when it is not one."""
    message = update.effective_message
    target = message.reply_to_message if message else None
    if message is None or target is None:
        return None
    async with context.uow.reading() as session:
        conversation = await store.handoff_of_relay(
            session, chat_id=message.chat_id, message_id=target.message_id
        )
        if conversation is None:
            return None
        customer = await get_customer_by_id(session, customer_id=conversation.customer_id)
    return conversation, customer


async def resolve(update: Update, context: BotContext) -> tuple[Handoff, Customer, int] | None:
    """The open conversation staff replied to, its customer and their chat id, or None after telling
    staff why there is none."""
    found = await conversation_replied_to(update, context)
    if found is None:
        await note(update, context, "faq/staff_unknown.html")
        return None
    conversation, customer = found
    if conversation.state != HandoffState.OPEN:
        await note(update, context, "faq/staff_was_closed.html", number=conversation.id)
        return None
    if customer is None or customer.telegram_id is None:
        await note(update, context, "faq/staff_customer_gone.html", number=conversation.id)
        return None
    async with context.uow.writing() as session:
        await store.touch_handoff(session, handoff_id=saved_id(conversation), now=context.clock.now())
    return conversation, customer, customer.telegram_id


async def staff_reply(update: Update, context: BotContext) -> None:
    """A staff reply to a relayed message goes to that conversation's customer, as is (text or media)."""
    message = update.effective_message
    target = message.reply_to_message if message else None
    if message is None or target is None or target.from_user is None or target.from_user.id != context.bot.id:
        return  # only replies to the bot's own (relayed) messages can be for a customer
    if not is_staff(update, context):
        return
    if chat_of(update).type == "private" and await conversation_replied_to(update, context) is None:
        # A reply to some other bot message (an FAQ editor prompt, an alert) is ordinary text there.
        return
    resolved = await resolve(update, context)
    if resolved is not None:
        conversation, customer, chat_id = resolved
        try:
            await context.bot.copy_message(chat_id, message.chat_id, message.message_id)
        except Forbidden:
            await note(update, context, "faq/staff_blocked.html", number=conversation.id)
        except TelegramError:
            logger.warning("Could not relay a reply to conversation %s", conversation.id, exc_info=True)
            await note(update, context, "faq/staff_failed.html", number=conversation.id)
        else:  # the first staff member to answer holds the conversation; the others are told
            env, staff = env_of(context), user_of(update)
            await handoff.take(env, conversation, customer=customer, staff=staff, chat_id=message.chat_id)
    raise ApplicationHandlerStop


@staff_only
async def canned_reply(update: Update, context: BotContext) -> None:
    """/r <code> in reply to a relayed message: send that FAQ answer to the customer, in their language."""
    args = context.args or []
    if len(args) != 1 or message_of(update).reply_to_message is None:
        await note(update, context, "faq/staff_usage.html")
        return
    resolved = await resolve(update, context)
    if resolved is None:
        return
    conversation, customer, chat_id = resolved
    async with context.uow.reading() as session:
        entry = await faq_store.entry_by_code(session, code=args[0], locale=customer.locale)
        codes = sorted({item.code for item in await faq_store.list_entries(session)})
    if entry is None:
        await note(update, context, "faq/staff_no_code.html", code=args[0], codes=codes)
        return
    text = context.templates.render(customer.locale, "faq/canned.html", answer=entry.answer)
    try:
        await context.bot.send_message(chat_id, text, parse_mode="HTML")
    except Forbidden:
        await note(update, context, "faq/staff_blocked.html", number=conversation.id)
        return
    except TelegramError:
        logger.warning("Could not send a canned reply to conversation %s", conversation.id, exc_info=True)
        await note(update, context, "faq/staff_failed.html", number=conversation.id)
        return
    await note(update, context, "faq/staff_canned_sent.html", code=entry.code, name=customer.display_name)
    await handoff.take(
        env_of(context), conversation, customer=customer, staff=user_of(update), chat_id=chat_of(update).id
    )


@staff_only
async def close_conversation(update: Update, context: BotContext) -> None:
    """/close in reply to a relayed message: end the conversation and ask the customer for a CES."""
    if message_of(update).reply_to_message is None:
        await note(update, context, "faq/staff_usage.html")
        return
    found = await conversation_replied_to(update, context)
    if found is None:
        await note(update, context, "faq/staff_unknown.html")
        return
    conversation, customer = found
    async with context.uow.writing() as session:
        closed = await store.close_handoff(
            session, handoff_id=saved_id(conversation), now=context.clock.now(), closed_by=user_of(update).id
        )
    if not closed:
        await note(update, context, "faq/staff_was_closed.html", number=conversation.id)
        return
    await note(update, context, "faq/staff_closed.html", number=conversation.id)
    await handoff.tell_closed(
        env_of(context), conversation, customer=customer, staff=user_of(update), chat_id=chat_of(update).id
    )
    if customer is None or customer.telegram_id is None:
        return
    text = context.templates.render(customer.locale, "faq/handoff_closed.html")
    try:
        await context.bot.send_message(customer.telegram_id, text, parse_mode="HTML")
    except TelegramError:
        logger.info("Could not tell customer %s that conversation %s closed", customer.id, conversation.id)
        return
    request_survey_later(
        context, customer_id=saved_id(customer), kind=SurveyKind.CES, trigger=SurveyTrigger.HANDOFF
    )


async def open_conversation(update: Update, context: BotContext) -> tuple[Handoff, Customer] | None:
    customer = context.customer
    if customer is None:
        return None
    pending = waiting(context)
    if pending is not None and not pending.handoff:
        return None  # the text router already looked: no conversation is open
    conversation = await handoff.current(env_of(context), customer=customer)
    return (conversation, customer) if conversation is not None else None


async def consume_customer_text(update: Update, context: BotContext) -> bool:
    """While a conversation is open, the customer's text goes to the support chat."""
    message = update.effective_message
    if message is None or not message.text:
        return False
    found = await open_conversation(update, context)
    if found is None:
        return False
    conversation, customer = found
    env = env_of(context)
    if not await handoff.relay_text(env, conversation, customer=customer, text=message.text):
        await reply(update, context, "faq/handoff_unavailable.html", locale=customer.locale)
    return True


async def relay_media(update: Update, context: BotContext) -> None:
    """Photos, voice notes, files... go to the support chat during a conversation; else the usual notice."""
    found = await open_conversation(update, context)
    if found is None:
        await fallback.unsupported_message(update, context)
        return
    conversation, customer = found
    env = env_of(context)
    message = message_of(update)
    header = handoff.staff_text(env, "faq/staff_media.html", customer=customer, handoff=conversation)
    delivered = await handoff.post_to_staff(env, conversation, header)
    if delivered:
        delivered = await handoff.copy_to_staff(
            env, conversation, from_chat_id=message.chat_id, message_id=message.message_id
        )
    if not delivered:
        await reply(update, context, "faq/media_failed.html", locale=customer.locale)


def handlers() -> dict[int, list[BaseHandler]]:
    return {
        STAFF_GROUP: [MessageHandler(filters.REPLY & ~filters.COMMAND, staff_reply)],
        0: [
            CommandHandler("r", canned_reply),
            CommandHandler("close", close_conversation),
            MessageHandler(fallback.UNSUPPORTED_MEDIA & filters.ChatType.PRIVATE, relay_media),
        ],
    }
