"""The `import-orders` subcommand: run the CSV import against the configured database and report."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from bot.clock import Clock
from bot.formatting import template_globals
from bot.loyalty.csv_import import CsvFormatError, import_orders
from bot.loyalty.order_events import OrderListeners
from bot.settings import Settings, SettingsError
from storage.db import Database
from storage.migrate import upgrade_to_head

EXIT_BAD_FILE = 3
# How often a notification refused with 429 (Too Many Requests) is sent again after Telegram's retry_after.
NOTIFY_RETRIES = 5


async def import_orders_command(
    settings: Settings, file: str, *, listeners: OrderListeners, notify: bool = False
) -> int:
    """`listeners`: the same order listeners the bot runs (`bot/app.py:order_listeners`), so an imported
    order moves referrals and win-backs on exactly as an /award or a shop webhook does."""
    token = settings.bot_token.get_secret_value() if settings.bot_token is not None else ""
    if notify and not token:
        raise SettingsError("setting BOT_TOKEN is missing: --notify sends the messages through the bot")
    db = Database(settings.database_url)
    bot = None
    try:
        await upgrade_to_head(db)
        callback = None
        told: Counter = Counter()
        if notify:
            # Only --notify talks to Telegram: the client and the message templates load just for it.
            from telegram.ext import AIORateLimiter, ExtBot  # noqa: PLC0415  (only for --notify)

            from bot.i18n import Templates  # noqa: PLC0415  (only for --notify)
            from bot.loyalty.notify import tell_points_earned  # noqa: PLC0415  (only for --notify)

            # PTB's rate limiter paces the messages at OUTREACH_RATE per second and, on a 429, waits
            # retry_after and sends again (up to NOTIFY_RETRIES times); a message still refused is counted.
            limiter = AIORateLimiter(
                overall_max_rate=settings.outreach_rate, overall_time_period=1, max_retries=NOTIFY_RETRIES
            )
            bot = ExtBot(
                token,
                base_url=f"{settings.telegram_api_url}/bot",
                rate_limiter=limiter,
            )
            await bot.initialize()
            templates = Templates(
                settings.templates_dir,
                default_locale=settings.default_locale,
                globals_=template_globals(settings),
            )

            async def callback(outcome):
                if outcome.points <= 0 or outcome.customer_id is None:
                    return  # nothing to tell (no points, or not yet in Telegram)
                delivered = await tell_points_earned(
                    bot, db=db, templates=templates, settings=settings, now=Clock().now(), outcome=outcome
                )
                told["sent" if delivered else "failed"] += 1

        try:
            # The bar redraws one line with "\r": only on a terminal, not into a log file or a pipe.
            bar = sys.stderr if sys.stderr.isatty() else None
            report = await import_orders(
                db,
                settings,
                Path(file),
                listeners=listeners,
                now=Clock().now(),
                progress=bar,
                notify=callback,
            )
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
    if notify:
        print(
            f"notifications: {told['sent']} sent, {told['failed']} not delivered "
            "(blocked the bot, unreachable or refused by Telegram; their points are stored)"
        )
    return 0
