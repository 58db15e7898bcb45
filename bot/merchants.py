"""Merchant-only commands: a clear refusal for customers instead of silence."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.context import BotContext
from bot.replies import reply

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def merchant_only(handler: Handler) -> Handler:
    """Run `handler` only for users listed in MERCHANT_IDS; tell anyone else it is for the shop team."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        user = update.effective_user
        if user is None or not context.settings.is_merchant(user.id):
            await reply(update, context, "common/merchants_only.html")
            return
        await handler(update, context)

    return guarded
