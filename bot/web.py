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


def _not_an_update(reason: str) -> web.Response:
    # 400, not 500: Telegram would send the same body again. One line in the log, no traceback.
    logger.warning("Refused Telegram webhook call: %s", reason)
    return web.Response(status=400, text=reason)


async def telegram_webhook(request: web.Request) -> web.Response:
    """Accept an update from Telegram only with the secret token set in setWebhook."""
    application = request.app[APPLICATION_KEY]
    expected = application.bot_data.get("webhook_secret", "")
    given = request.headers.get(SECRET_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(errors="replace"), expected.encode()):
        return web.Response(status=401, text="bad secret token")
    try:
        payload = json.loads(await request.read())
    except (ValueError, RecursionError):  # not JSON or not UTF-8, huge integers, deep nesting
        return _not_an_update("body is not JSON")
    update_id = payload.get("update_id") if isinstance(payload, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
        return _not_an_update("not an update")
    try:
        update = Update.de_json(payload, application.bot)
    except Exception as error:  # PTB builds objects from untrusted JSON; any failure means "not an update"
        return _not_an_update(f"not an update ({type(error).__name__})")
    if update is None:
        return _not_an_update("not an update")
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
