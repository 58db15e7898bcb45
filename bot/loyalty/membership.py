"""Loyalty membership for any customer update: registration, member code, welcome bonus, waiting orders."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import normalize_locale
from bot.loyalty import purchases
from bot.loyalty.notify import tell_points_earned
from bot.updates import user_of
from storage import customers
from storage.customers import TelegramProfile
from storage.models import Customer


async def announce(context: BotContext, linked: list) -> None:
    """Tell the customer about orders that were waiting for them (the welcome bonus shows in /balance)."""
    for outcome in linked:
        await tell_points_earned(
            context.bot,
            db=context.db,
            templates=context.templates,
            settings=context.settings,
            now=context.clock.now(),
            outcome=outcome,
        )


async def member(update: Update, context: BotContext) -> Customer:
    """The customer behind this update, registered and welcomed into the programme if they were not."""
    user = user_of(update)
    profile = TelegramProfile(user.id, user.first_name, user.last_name, user.username)
    locale = normalize_locale(user.language_code, context.settings.default_locale)
    async with context.db.session() as session:
        customer, _ = await customers.ensure_customer(session, profile=profile, locale=locale)
        _, linked = await purchases.welcome_customer(
            session, settings=context.settings, now=context.clock.now(), customer=customer
        )
    await announce(context, linked)
    return customer


async def on_joined(update: Update, context: BotContext) -> None:
    """Hook for /start: member code, welcome bonus, waiting orders."""
    await member(update, context)
