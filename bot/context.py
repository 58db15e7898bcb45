"""The CallbackContext every handler and job receives, with typed access to the app's resources, and the
same resources for feature services that are called from handlers, jobs or the Application alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.unit_of_work import UnitOfWork, current

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.clock import Clock
    from bot.i18n import Templates
    from bot.loyalty.order_events import OrderListeners
    from bot.settings import Settings
    from storage.db import Database
    from storage.models import Customer


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
    def uow(self) -> UnitOfWork:
        """The update's unit of work, opened by bot/customer_step.py before the handlers run."""
        unit = self.unit
        if unit is None:
            raise RuntimeError("no unit of work: this is not a handler's update")
        return unit

    @property
    def unit(self) -> UnitOfWork | None:
        """The update's unit of work if this is a handler's context (a job's is not, even when a handler
        scheduled it and asyncio copied the handler's context variables into it)."""
        return current() if self.job is None else None

    @property
    def customer(self) -> Customer | None:
        """The customer this update comes from, resolved once (None: a user who is no customer)."""
        unit = self.unit
        return unit.customer if unit is not None else None

    @property
    def locale(self) -> str:
        """The customer's chosen locale, else their Telegram language, else the shop default."""
        unit = self.unit
        if unit is not None and unit.customer is not None:
            return unit.customer.locale
        if unit is not None and unit.locale is not None:
            return unit.locale
        return self.settings.default_locale

    @property
    def order_listeners(self) -> OrderListeners:
        return self.bot_data["order_listeners"]


@dataclass(frozen=True)
class AppEnv:
    """The app's resources for feature services, whoever calls them: `service(env, *, keyword-only)`.

    Services get their session from `env.reading()` / `env.writing()`: inside an update that is the
    update's unit of work (no commit at the block's end: the update commits once), from a job or the
    command line a transaction of their own, committed when the block ends.
    """

    bot: Any
    db: Database
    settings: Settings
    templates: Templates
    clock: Clock
    # Per-application memory of services (e.g. the last progress text shown for each broadcast).
    cache: dict
    unit: UnitOfWork | None = None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        if self.unit is None:
            async with self.db.read_session() as session:
                yield session
        else:
            async with self.unit.reading() as session:
                yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        if self.unit is None:
            async with self.db.session() as session:
                yield session
        else:
            async with self.unit.writing() as session:
                yield session


def env_of(source: Any) -> AppEnv:
    """Accepts a BotContext (handlers, jobs) or the Application itself."""
    data = source.bot_data
    cache = data.setdefault("service_cache", {})
    unit = source.unit if isinstance(source, BotContext) else None
    return AppEnv(source.bot, data["db"], data["settings"], data["templates"], data["clock"], cache, unit)


def job_queue_of(application: Application) -> JobQueue:
    """The application's JobQueue; PTB types it optional because it needs the `job-queue` extra we install."""
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    return application.job_queue
