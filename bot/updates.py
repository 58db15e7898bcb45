"""The parts of an Update that a handler is sure to get, typed as present.

PTB types every part of an Update (and a context's chat_data/user_data) as optional, because which parts
are set depends on the kind of update; each handler class only calls back with the parts it matched on.
These raise if that promise is ever broken instead of failing later on None.
"""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, Chat, Message, Update, User

from bot.context import BotContext
from storage.customers import TelegramProfile


def query_of(update: Update) -> CallbackQuery:
    """The tapped button of a CallbackQueryHandler's update."""
    if update.callback_query is None:
        raise ValueError("expected a callback query update")
    return update.callback_query


def message_of(update: Update) -> Message:
    """The message of a CommandHandler's or MessageHandler's update."""
    if update.effective_message is None:
        raise ValueError("expected an update with a message")
    return update.effective_message


def chat_of(update: Update) -> Chat:
    if update.effective_chat is None:
        raise ValueError("expected an update from a chat")
    return update.effective_chat


def user_of(update: Update) -> User:
    if update.effective_user is None:
        raise ValueError("expected an update from a user")
    return update.effective_user


def user_data_of(context: BotContext) -> dict[Any, Any]:
    """The user's conversation memory (PTB has one for every update that comes from a user)."""
    if context.user_data is None:
        raise ValueError("expected an update from a user")
    return context.user_data


def profile_of(update: Update) -> TelegramProfile:
    """The sender's Telegram profile, as the customer store keeps it."""
    user = user_of(update)
    return TelegramProfile(
        telegram_id=user.id, first_name=user.first_name, last_name=user.last_name, username=user.username
    )
