"""Running the bot: polling or webhook, with the HTTP server alongside, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.settings import Settings, check_run_settings
from bot.web import TELEGRAM_WEBHOOK_PATH

logger = logging.getLogger(__name__)


async def serve(settings: Settings, *, webhook: bool) -> None:
    """Start the application, receive updates until a stop signal, then shut down cleanly."""
    check_run_settings(settings, webhook=webhook)
    application = build_application(settings)
    updater = application.updater
    if updater is None:  # build_application keeps PTB's default Updater; PTB types it optional
        raise RuntimeError("the application has no Updater")
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)

    await application.initialize()
    try:
        await _post_init(application)
        if webhook:
            await application.bot.set_webhook(
                url=f"{settings.webhook_url}{TELEGRAM_WEBHOOK_PATH}",
                secret_token=application.bot_data["webhook_secret"],
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            # A leftover webhook would make getUpdates fail with a conflict.
            await application.bot.delete_webhook()
            await updater.start_polling(allowed_updates=Update.ALL_TYPES)
        await application.start()
        logger.info("Bot @%s is running (%s)", application.bot.username, "webhook" if webhook else "polling")
        await stop_requested.wait()
    finally:
        await stop(application)


async def stop(application: Application) -> None:
    """Stop receiving updates, let running jobs and pending updates finish, then release resources."""
    logger.info("Stopping")
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.job_queue is not None and application.job_queue.scheduler.running:
        # No new job runs from here on. Application.stop waits for the running ones, but a job falling due
        # meanwhile (the outbox check runs every few seconds) would start and then be cancelled by the
        # scheduler's shutdown, which APScheduler logs as an ERROR with a CancelledError traceback.
        # What a paused sweep would have done, the next start's sweep does (they are idempotent).
        application.job_queue.scheduler.pause()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)


async def _post_init(application: Application) -> None:
    if application.post_init is not None:
        await application.post_init(application)
