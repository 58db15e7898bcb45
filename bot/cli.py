"""Command line: `python -m bot run|migrate|backup|restore` (features add more subcommands here)."""

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
    backup = commands.add_parser("backup", help="copy the SQLite database to FILE while the bot runs")
    backup.add_argument("file", help="where to write the copy (a new file)")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    restore = commands.add_parser("restore", help="check a backup FILE and put it back into the database")
    restore.add_argument("file", help="a file written by `backup`")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


async def database_problem(settings: Settings) -> str | None:
    """Why the configured database cannot be opened (wrong host, name, password, path), or None."""
    from storage.db import Database

    db = Database(settings.database_url)
    try:
        return await db.check_connection()
    finally:
        await db.dispose()


async def migrate(settings: Settings) -> None:
    from storage.db import Database
    from storage.migrate import upgrade_to_head

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
        if args.command in ("backup", "restore"):
            # They open the SQLite file themselves: backup must not create a missing database.
            from bot import backup_cli

            if args.command == "backup":
                return backup_cli.backup_command(settings, args.file, force=args.force)
            return backup_cli.restore_command(settings, args.file, yes=args.yes)
        problem = asyncio.run(database_problem(settings))
        if problem is not None:
            print(f"error: cannot open the database at DATABASE_URL: {problem}", file=sys.stderr)
            return EXIT_NO_DATABASE
        from storage.rollups import set_rollup_timezone

        set_rollup_timezone(settings.timezone)  # order imports keep the analytics rollups in local days
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # httpx logs every Bot API call at INFO, token included in the URL.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        if args.command == "run":
            from telegram.error import InvalidToken, NetworkError

            from bot.runner import serve

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
            from bot.loyalty.cli import import_orders_command

            return asyncio.run(import_orders_command(settings, args.file, notify=args.notify))
        elif args.command == "faq-import":
            from bot.faq.cli import import_faq_command

            return asyncio.run(import_faq_command(settings, args.file))
        elif args.command in ("stats", "rebuild-rollups"):
            from bot.analytics import cli as analytics_cli

            if args.command == "stats":
                return asyncio.run(analytics_cli.stats_command(settings, args.period, as_json=args.json))
            return asyncio.run(analytics_cli.rebuild_command(settings))
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    except KeyboardInterrupt:
        return 0
    return 0
