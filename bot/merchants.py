"""Merchant-only commands and buttons: a clear refusal for customers instead of silence."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.context import BotContext
from bot.replies import reply, user_locale

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def merchant_only(handler: Handler) -> Handler:
    """Run `handler` only for users listed in MERCHANT_IDS; tell anyone else it is for the shop team (a
    button tap gets the answer as an alert on the tap, not a chat message)."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        user = update.effective_user
        if user is None or not context.settings.is_merchant(user.id):
            if update.callback_query is not None:
                locale = await user_locale(context, user)
                text = context.templates.text(locale, "common/merchants_only_button.html")
                await update.callback_query.answer(text, show_alert=True)
                return
            await reply(update, context, "common/merchants_only.html")
            return
        await handler(update, context)

    return guarded
