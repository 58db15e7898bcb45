"""Command line: `python -m bot run|migrate` (features add more subcommands here).

Each subcommand imports what it needs when it runs (noqa: PLC0415 below), so `--help`, a usage error or a
settings error answers without loading SQLAlchemy, Alembic or the Telegram client.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.settings import Settings, SettingsError, check_run_settings, load_settings

EXIT_BAD_SETTINGS = 2
EXIT_NO_DATABASE = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="engagement-bot", description="Telegram customer-engagement bot")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (long polling unless --webhook)")
    run.add_argument(
        "--webhook", action="store_true", help="receive updates on WEBHOOK_URL instead of polling"
    )
    commands.add_parser("migrate", help="apply database migrations and exit")
    orders = commands.add_parser("import-orders", help="import shop orders from a CSV file and award points")
    orders.add_argument("file", help="CSV with order_id, customer, amount, created_at[, status]")
    orders.add_argument("--notify", action="store_true", help="tell customers about the points (BOT_TOKEN)")
    faq = commands.add_parser("faq-import", help="load an FAQ file (default FAQ_FILE) into the database")
    faq.add_argument("file", nargs="?", help="YAML file in the format of data/faq.yaml")
    stats = commands.add_parser("stats", help="shop statistics for a period (as /stats)")
    stats.add_argument(
        "--period", default=None, help="7d, 30d (default), 90d, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD"
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands.add_parser("rebuild-rollups", help="recompute the analytics rollups from the raw orders")
    return parser


async def database_problem(settings: Settings) -> str | None:
    """Why the configured database cannot be opened (wrong host, name, password, path), or None."""
    from storage.db import Database  # noqa: PLC0415  (loaded once settings are valid)

    db = Database(settings.database_url)
    try:
        return await db.check_connection()
    finally:
        await db.dispose()


async def migrate(settings: Settings) -> None:
    from storage.db import Database  # noqa: PLC0415  (loaded once settings are valid)
    from storage.migrate import upgrade_to_head  # noqa: PLC0415  (Alembic, only for migrating)

    db = Database(settings.database_url)
    try:
        await upgrade_to_head(db)
    finally:
        await db.dispose()
    print("database is up to date")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "run":
            check_run_settings(settings, webhook=args.webhook)
        problem = asyncio.run(database_problem(settings))
        if problem is not None:
            print(f"error: cannot open the database at DATABASE_URL: {problem}", file=sys.stderr)
            return EXIT_NO_DATABASE
        from storage.rollups import set_rollup_timezone  # noqa: PLC0415  (loaded once settings are valid)

        set_rollup_timezone(settings.timezone)  # order imports keep the analytics rollups in local days
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # httpx logs every Bot API call at INFO, token included in the URL.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        if args.command == "run":
            from telegram.error import InvalidToken, NetworkError  # noqa: PLC0415  (Telegram client, only for run)

            from bot.runner import serve  # noqa: PLC0415  (the whole bot, only for run)

            try:
                asyncio.run(serve(settings, webhook=args.webhook))
            except InvalidToken:
                raise SettingsError(
                    "setting BOT_TOKEN was rejected by Telegram: check it with @BotFather"
                ) from None
            except NetworkError as error:  # only start-up calls get here; later ones are retried
                print(f"error: cannot reach Telegram at TELEGRAM_API_URL: {error}", file=sys.stderr)
                return 1
        elif args.command == "migrate":
            asyncio.run(migrate(settings))
        elif args.command == "import-orders":
            from bot.loyalty.cli import import_orders_command  # noqa: PLC0415  (subcommand, loaded to run)

            return asyncio.run(import_orders_command(settings, args.file, notify=args.notify))
        elif args.command == "faq-import":
            from bot.faq.cli import import_faq_command  # noqa: PLC0415  (subcommand, loaded to run)

            return asyncio.run(import_faq_command(settings, args.file))
        elif args.command in ("stats", "rebuild-rollups"):
            from bot.analytics import cli as analytics_cli  # noqa: PLC0415  (subcommand, loaded to run)

            if args.command == "stats":
                return asyncio.run(analytics_cli.stats_command(settings, args.period, as_json=args.json))
            return asyncio.run(analytics_cli.rebuild_command(settings))
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    except KeyboardInterrupt:
        return 0
    return 0
