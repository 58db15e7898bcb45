"""Command menus: the customer menu per language and a merchant menu scoped to each merchant's chat."""

from __future__ import annotations

import logging
from types import ModuleType

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import Application

from bot.i18n import Templates
from bot.settings import LOCALES, Settings

logger = logging.getLogger(__name__)


def collect_commands(modules: list[ModuleType]) -> tuple[list[str], list[str]]:
    customer: list[str] = []
    merchant: list[str] = []
    for module in modules:
        customer.extend(getattr(module, "CUSTOMER_COMMANDS", ()))
        merchant.extend(getattr(module, "MERCHANT_COMMANDS", ()))
    return customer, merchant


def commands_for(application: Application, *, merchant: bool) -> list[str]:
    customer, merchant_only = application.bot_data["commands"]
    return customer + merchant_only if merchant else list(customer)


def menu(templates: Templates, locale: str, names: list[str]) -> list[BotCommand]:
    return [BotCommand(name, templates.text(locale, f"commands/{name}.html")) for name in names]


async def publish_menus(application: Application, settings: Settings, templates: Templates) -> None:
    """Register menus with Telegram; a merchant who never opened the chat is logged, not fatal."""
    customer, merchant_only = application.bot_data["commands"]
    bot = application.bot
    await bot.set_my_commands(
        menu(templates, settings.default_locale, customer), scope=BotCommandScopeDefault()
    )
    for locale in LOCALES:
        await bot.set_my_commands(
            menu(templates, locale, customer), scope=BotCommandScopeDefault(), language_code=locale
        )
    for merchant_id in settings.merchant_ids:
        try:
            # A chat-scoped menu hides the per-language default menus, so it needs its own languages.
            for language in (None, *LOCALES):
                await bot.set_my_commands(
                    menu(templates, language or settings.default_locale, customer + merchant_only),
                    scope=BotCommandScopeChat(merchant_id),
                    language_code=language,
                )
        except TelegramError as error:
            logger.warning("Could not set the merchant menu for %s: %s", merchant_id, error)
