"""The first and last step of every update: open its unit of work and resolve its customer once (handler
group −2), then end the unit (the last group). Handlers get the customer as `context.customer`.

Registration happens here, once: a private-chat user met for the first time by a handler that `joins`
(`@handles(joins=True)`) is created with their Telegram profile and language, and the join listeners
(`JOIN_LISTENERS` in bot/app.py: member code, welcome bonus, orders waiting for them) run in the same
transaction. An existing customer costs one SELECT; it is written only when Telegram shows a new name or
username.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import Application, BaseHandler, TypeHandler

from bot.i18n import normalize_locale
from bot.unit_of_work import (
    CURRENT,
    Intent,
    UnitOfWork,
    combine,
    current,
    finish_current_unit,
    intent_of,
)
from storage import customers
from storage.customers import TelegramProfile

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.context import BotContext
    from storage.models import Customer

logger = logging.getLogger(__name__)

# Telegram allows 1-64 characters from this set in a deep-link payload.
START_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

FIRST_GROUP = -2  # before the staff replies of group −1
LAST_GROUP = 1_000_000

# `async def listener(context, session, customer)`, run once when a customer joins, inside the unit.
JoinListener = Callable[["BotContext", "AsyncSession", "Customer"], Awaitable[None]]
JOIN_LISTENERS_KEY = "join_listeners"


def profile_of(user) -> TelegramProfile:
    return TelegramProfile(
        telegram_id=user.id, first_name=user.first_name, last_name=user.last_name, username=user.username
    )


def intent_for(update: Update, application: Application) -> Intent | None:
    """What the handlers that will take this update declare; None when no handler takes it."""
    found: list[Intent] = []
    for group in sorted(application.handlers):
        if group in (FIRST_GROUP, LAST_GROUP):
            continue
        for handler in application.handlers[group]:
            check = handler.check_update(update)
            if check is not None and check is not False:
                found.append(intent_of(handler.callback))
                break  # PTB runs the first match of each group
    return combine(found) if found else None


def start_payload(update: Update) -> str | None:
    """The deep-link payload of a /start, stored on the customer it creates (when it is a valid one)."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    parts = text.split()
    if len(parts) < 2 or parts[0].split("@")[0] != "/start":
        return None
    return parts[1] if START_PAYLOAD.match(parts[1]) else None


async def open_unit(update: Update, context: BotContext) -> None:
    """Group −2: the update's unit of work and its customer, before any handler runs."""
    stale = current()
    if stale is not None:  # an earlier update ended without its last step (ApplicationHandlerStop)
        await stale.finish()
    CURRENT.set(None)
    intent = intent_for(update, context.application)
    if intent is None:
        return  # nothing will handle it: no database work at all
    unit = UnitOfWork(context.db)
    CURRENT.set(unit)
    user = update.effective_user
    if user is None or user.is_bot:
        return
    unit.user_id = user.id
    unit.locale = normalize_locale(user.language_code, context.settings.default_locale)
    session = await (unit.write() if intent.writes else unit.read())
    customer = await customers.get_customer(session, telegram_id=user.id)
    chat = update.effective_chat
    private = chat is not None and chat.type == "private"
    if intent.joins and private and (customer is None or customer.member_code is None):
        session = await unit.write()
        customer, unit.created = await customers.ensure_customer(
            session,
            profile=profile_of(user),
            locale=unit.locale,
            start_payload=start_payload(update),
            member_code=True,
        )
        unit.customer = customer
        for listener in context.bot_data.get(JOIN_LISTENERS_KEY, ()):
            await listener(context, session, customer)
    elif customer is not None and customers.profile_changed(customer, profile_of(user)):
        unit.customer = customer
        session = await unit.write()
        await customers.refresh_profile(session, customer=customer, profile=profile_of(user))
    unit.customer = customer
    if not intent.keeps:
        await unit.commit()  # the handler opens sessions of its own: hold nothing meanwhile


async def close_unit(update: Update, context: BotContext) -> None:
    """The last group: commit the update's work, then run what was left for after it."""
    await finish_current_unit()


async def abandon_unit() -> None:
    """On an error: undo the update's open transaction (its earlier commits stay)."""
    unit = current()
    if unit is not None:
        await unit.rollback()


def handlers() -> dict[int, list[BaseHandler]]:
    return {
        FIRST_GROUP: [TypeHandler(Update, open_unit)],
        LAST_GROUP: [TypeHandler(Update, close_unit)],
    }
