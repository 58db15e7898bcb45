"""The single error handler: log first, then apologise to the user in their language."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import BotContext
from bot.replies import reply

logger = logging.getLogger(__name__)


async def error_handler(update: object, context: BotContext) -> None:
    """Log the exception with the update that caused it and tell the user something went wrong."""
    logger.error("Exception while handling an update: %r", update, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await reply(update, context, "common/error.html")
    except Exception:  # the apology itself may fail (blocked bot, network); never loop on it
        logger.warning("Could not tell the user about the error", exc_info=True)
