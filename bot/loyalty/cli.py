"""The `import-orders` subcommand: run the CSV import against the configured database and report."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.clock import Clock
from bot.loyalty.csv_import import CsvFormatError, import_orders
from bot.settings import Settings, SettingsError

EXIT_BAD_FILE = 3


async def import_orders_command(settings: Settings, file: str, *, notify: bool = False) -> int:
    from storage.db import Database
    from storage.migrate import upgrade_to_head

    if notify and (settings.bot_token is None or not settings.bot_token.get_secret_value()):
        raise SettingsError("setting BOT_TOKEN is missing: --notify sends the messages through the bot")
    db = Database(settings.database_url)
    bot = None
    try:
        await upgrade_to_head(db)
        callback = None
        if notify:
            from telegram import Bot

            from bot.i18n import Templates
            from bot.loyalty.notify import tell_points_earned

            bot = Bot(settings.bot_token.get_secret_value(), base_url=f"{settings.telegram_api_url}/bot")
            await bot.initialize()
            templates = Templates(
                settings.templates_dir,
                default_locale=settings.default_locale,
                globals_={"shop_name": settings.shop_name, "currency": settings.currency},
            )

            async def callback(outcome):
                return await tell_points_earned(
                    bot, db=db, templates=templates, settings=settings, now=Clock().now(), outcome=outcome
                )

        try:
            report = await import_orders(db, settings, Path(file), now=Clock().now(), notify=callback)
        except CsvFormatError as error:
            print(f"error: {file}: {error}", file=sys.stderr)
            return EXIT_BAD_FILE
    finally:
        if bot is not None:
            await bot.shutdown()
        await db.dispose()
    for line, reason in report.errors:
        print(f"line {line}: {reason} (skipped)", file=sys.stderr)
    print(
        f"imported {report.imported} orders ({report.unlinked} kept for customers not yet in Telegram), "
        f"{report.points} points awarded, {report.duplicates} already known, {report.reversed} refunds, "
        f"{len(report.errors)} bad rows skipped"
    )
    return 0
