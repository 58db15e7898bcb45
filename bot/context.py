"""The CallbackContext every handler and job receives, with typed access to the app's resources, and the
same resources for feature services that are called from handlers, jobs or the Application alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.i18n import Templates
    from bot.loyalty.order_events import OrderListeners
    from bot.settings import Settings
    from storage.db import Database


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """Adds `settings`, `db`, `templates`, `clock` and `order_listeners`, all kept in bot_data by
    build_application."""

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

    @property
    def order_listeners(self) -> OrderListeners:
        return self.bot_data["order_listeners"]


@dataclass(frozen=True)
class AppEnv:
    """The app's resources for feature services (surveys, outreach), whoever calls them."""

    bot: Any
    db: Database
    settings: Settings
    templates: Templates
    clock: Clock
    # Per-application memory of services (e.g. the last progress text shown for each broadcast).
    cache: dict


def env_of(source: Any) -> AppEnv:
    """Accepts a BotContext (handlers, jobs) or the Application itself."""
    data = source.bot_data
    cache = data.setdefault("service_cache", {})
    return AppEnv(source.bot, data["db"], data["settings"], data["templates"], data["clock"], cache)


def job_queue_of(application: Application) -> JobQueue:
    """The application's JobQueue; PTB types it optional because it needs the `job-queue` extra we install."""
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    return application.job_queue
