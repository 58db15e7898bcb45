"""The bot's HTTP server (aiohttp): Telegram webhook, health check, and routes features add."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

logger = logging.getLogger(__name__)

APPLICATION_KEY = web.AppKey("application", Application)
TELEGRAM_WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  (the header's name, not a secret)

# A feature adds its routes with a function taking the aiohttp app (e.g. shop order webhooks).
RouteInstaller = Callable[[web.Application], None]


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def telegram_webhook(request: web.Request) -> web.Response:
    """Accept an update from Telegram only with the secret token set in setWebhook."""
    application = request.app[APPLICATION_KEY]
    expected = application.bot_data.get("webhook_secret", "")
    given = request.headers.get(SECRET_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return web.Response(status=401, text="bad secret token")
    try:
        payload = await request.json()
    except json.JSONDecodeError:
        return web.Response(status=400, text="body is not JSON")
    if not isinstance(payload, dict):
        return web.Response(status=400, text="not an update")
    update = Update.de_json(payload, application.bot)
    if update is None:
        return web.Response(status=400, text="not an update")
    await application.update_queue.put(update)
    return web.Response(text="ok")


def build_web_app(application: Application, installers: list[RouteInstaller]) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[APPLICATION_KEY] = application
    app.router.add_get("/healthz", health)
    app.router.add_post(TELEGRAM_WEBHOOK_PATH, telegram_webhook)
    for install in installers:
        install(app)
    return app


class WebServer:
    """Starts and stops the aiohttp site inside the bot's own event loop."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.runner = web.AppRunner(app, access_log=None)
        self.host, self.port = host, port

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port).start()
        logger.info("HTTP server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        await self.runner.cleanup()
