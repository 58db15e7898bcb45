"""Hand-off to the shop team: opening a conversation, relaying the customer's messages into the support
chat(s), and resolving which conversation a staff reply belongs to.

The support chat is SUPPORT_CHAT_ID, or every merchant's private chat when it is unset. Every message the bot
posts there is remembered (chat id, message id) -> conversation in the database, so staff can answer by
replying to any of them, even after a restart.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Message, User
from telegram.error import TelegramError

from bot.context import AppEnv
from bot.settings import Settings
from storage import handoff as store
from storage.models import Customer, Handoff, HandoffState
from storage.typed import saved_id

logger = logging.getLogger(__name__)

TOPIC_MAX = 500
# A relayed text plus its header must fit Telegram's 4096 characters.
RELAY_MAX = 3800
STAFF_NAME_MAX = 64  # handoffs.held_by_name


def support_chats(settings: Settings) -> tuple[int, ...]:
    if settings.support_chat_id is not None:
        return (settings.support_chat_id,)
    return settings.merchant_ids


def is_support_chat(settings: Settings, chat_id: int) -> bool:
    return chat_id in support_chats(settings)


def staff_text(env: AppEnv, template: str, /, *, customer: Customer, handoff: Handoff, **values) -> str:
    """A message for the shop team (in the shop's default language) about one conversation."""
    return env.templates.render(
        env.settings.default_locale,
        template,
        number=handoff.id,
        name=customer.display_name,
        telegram_id=customer.telegram_id,
        username=customer.username,
        **{"holder": handoff.held_by_name, **values},
    )


async def post_to_staff(env: AppEnv, handoff: Handoff, text: str, *, besides: int | None = None) -> int:
    """Post `text` to every support chat (but `besides`) and remember each copy; returns how many got it."""
    delivered = 0
    for chat_id in support_chats(env.settings):
        if chat_id == besides:
            continue
        try:
            message = await env.bot.send_message(chat_id, text, parse_mode="HTML")
        except TelegramError:
            logger.warning("Could not relay conversation %s to chat %s", handoff.id, chat_id, exc_info=True)
            continue
        await remember(env, handoff, message)
        delivered += 1
    return delivered


async def copy_to_staff(env: AppEnv, handoff: Handoff, *, from_chat_id: int, message_id: int) -> int:
    """Copy a customer's message (photo, voice, ...) to every support chat; returns how many got it."""
    delivered = 0
    for chat_id in support_chats(env.settings):
        try:
            copied = await env.bot.copy_message(chat_id, from_chat_id, message_id)
        except TelegramError:
            logger.warning("Could not copy a message of conversation %s", handoff.id, exc_info=True)
            continue
        async with env.writing() as session:
            await store.remember_relay(
                session,
                handoff_id=saved_id(handoff),
                chat_id=chat_id,
                message_id=copied.message_id,
                now=env.clock.now(),
            )
        delivered += 1
    return delivered


async def remember(env: AppEnv, handoff: Handoff, message: Message) -> None:
    async with env.writing() as session:
        await store.remember_relay(
            session,
            handoff_id=saved_id(handoff),
            chat_id=message.chat_id,
            message_id=message.message_id,
            now=env.clock.now(),
        )


async def open_for(env: AppEnv, *, customer: Customer, topic: str | None) -> tuple[Handoff, bool]:
    """Open (or find) the customer's conversation and, when new, tell the support chat(s) about it.

    Returns (conversation, opened). When no support chat could be reached, the new conversation is closed
    again at once and `opened` is False with the conversation closed, so the customer is not left waiting.
    """
    # A conversation left idle past HANDOFF_IDLE_HOURS is closed first: otherwise the customer would be told
    # "you are already talking with the team" and their next message would close it and go to the FAQ.
    await current(env, customer=customer)
    now = env.clock.now()
    async with env.writing() as session:
        handoff, created = await store.open_handoff(session, customer_id=saved_id(customer), now=now)
    if not created:
        return handoff, False
    topic = (topic or "").strip()
    text = staff_text(env, "faq/staff_new.html", customer=customer, handoff=handoff, topic=topic[:TOPIC_MAX])
    if await post_to_staff(env, handoff, text) == 0:
        async with env.writing() as session:
            await store.close_handoff(session, handoff_id=saved_id(handoff), now=now, closed_by=None)
        handoff.state = HandoffState.CLOSED
        return handoff, False
    if len(topic) > TOPIC_MAX:  # the rest of a long first message follows, so staff read all of it
        await relay_text(env, handoff, customer=customer, text=topic[TOPIC_MAX:])
    return handoff, True


async def relay_text(env: AppEnv, handoff: Handoff, *, customer: Customer, text: str) -> bool:
    """The customer's text to staff, in parts when it does not fit one message; False if no chat got it."""
    for start in range(0, len(text), RELAY_MAX):
        part = text[start : start + RELAY_MAX]
        message = staff_text(env, "faq/staff_message.html", customer=customer, handoff=handoff, text=part)
        if await post_to_staff(env, handoff, message) == 0:
            return False
    return True


async def take(env: AppEnv, handoff: Handoff, *, customer: Customer, staff: User, chat_id: int) -> None:
    """Staff answered: the first to do so holds the conversation, and the other support chats are told, so
    two merchants do not answer the same customer twice."""
    name = staff.first_name[:STAFF_NAME_MAX]
    async with env.writing() as session:
        taken = await store.take_handoff(
            session, handoff_id=saved_id(handoff), staff_id=staff.id, staff_name=name
        )
    if not taken:
        return
    handoff.held_by, handoff.held_by_name = staff.id, name
    text = staff_text(env, "faq/staff_taken.html", customer=customer, handoff=handoff, staff=name)
    await post_to_staff(env, handoff, text, besides=chat_id)


async def tell_closed(
    env: AppEnv, handoff: Handoff, *, customer: Customer | None, staff: User, chat_id: int
) -> None:
    """/close: the other support chats learn who closed the conversation."""
    text = env.templates.render(
        env.settings.default_locale,
        "faq/staff_closed_by.html",
        number=handoff.id,
        name=customer.display_name if customer is not None else None,
        staff=staff.first_name[:STAFF_NAME_MAX],
    )
    await post_to_staff(env, handoff, text, besides=chat_id)


async def current(env: AppEnv, *, customer: Customer) -> Handoff | None:
    """The customer's open conversation; one left idle past HANDOFF_IDLE_HOURS is closed and not returned."""
    now = env.clock.now()
    idle = env.settings.handoff_idle_hours
    async with env.reading() as session:  # most texts come from customers with no conversation open
        handoff = await store.open_handoff_of(session, customer_id=saved_id(customer))
    if handoff is None:
        return None
    async with env.writing() as session:
        if idle and now - handoff.last_activity_at > timedelta(hours=idle):
            await store.close_handoff(session, handoff_id=saved_id(handoff), now=now, closed_by=None)
            logger.info("Conversation %s closed after %s idle hours", handoff.id, idle)
            return None
        await store.touch_handoff(session, handoff_id=saved_id(handoff), now=now)
    return handoff
