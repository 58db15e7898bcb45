"""The CallbackContext every handler and job receives, with typed access to the app's resources."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram.ext import CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.i18n import Templates
    from bot.settings import Settings
    from storage.db import Database


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """Adds `settings`, `db`, `templates` and `clock`, all kept in bot_data by build_application."""

    @property
    def settings(self) -> Settings:
        return self.bot_data["settings"]

    @property
    def db(self) -> Database:
        return self.bot_data["db"]

    @property
    def templates(self) -> Templates:
        return self.bot_data["templates"]

    @property
    def clock(self) -> Clock:
        return self.bot_data["clock"]
