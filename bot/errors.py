"""The single error handler: log first, then apologise to the user in their language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext
from bot.customer_step import abandon_unit
from bot.i18n import normalize_locale
from bot.replies import reply, user_locale

logger = logging.getLogger(__name__)


async def error_handler(update: object, context: BotContext) -> None:
    """Log the exception with the update that caused it and tell the user something went wrong."""
    logger.error("Exception while handling an update: %r", update, exc_info=context.error)
    try:  # nothing of the failed update's open transaction is kept
        await abandon_unit()
    except Exception:  # the database itself may be what failed
        logger.warning("Could not roll back the update's unit of work", exc_info=True)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.callback_query is not None:
        try:  # otherwise the tapped button keeps spinning in the customer's app
            await update.callback_query.answer()
        except TelegramError:  # already answered by the handler before it failed
            pass
    try:
        try:
            locale = await user_locale(context, update.effective_user)
        except Exception:  # the database may be what failed; the Telegram language is the next best
            user = update.effective_user
            locale = normalize_locale(user.language_code if user else None, context.settings.default_locale)
        await reply(update, context, "common/error.html", locale=locale)
    except Exception:  # the apology itself may fail (blocked bot, network); never loop on it
        logger.warning("Could not tell the user about the error", exc_info=True)
