"""Last-resort replies: unknown commands, messages the bot cannot use (stickers, photos, ...) and taps on
buttons no handler took (random, outdated or oversized data): every callback query gets an answer."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.replies import answer_inactive, reply

UNSUPPORTED_MEDIA = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VIDEO
    | filters.ANIMATION
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO_NOTE
    | filters.Document.ALL
    | filters.LOCATION
    | filters.POLL
    | filters.Dice.ALL
)


async def unknown_command(update: Update, context: BotContext) -> None:
    """Point the user to /help when the command does not exist."""
    await reply(update, context, "common/unknown_command.html")


async def unsupported_message(update: Update, context: BotContext) -> None:
    """Explain that the bot reads text and buttons only."""
    await reply(update, context, "common/unsupported_message.html")


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(filters.COMMAND & private, unknown_command),
        MessageHandler(UNSUPPORTED_MEDIA & private, unsupported_message),
        CallbackQueryHandler(answer_inactive),  # no pattern: any tap the handlers above did not take
    ]
