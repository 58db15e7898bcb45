"""build_application: the Telegram application, its handlers in order, and its resources' lifecycle."""

from __future__ import annotations

import logging
import secrets

from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import customer_step, errors, fallback
from bot.analytics import handlers as analytics
from bot.clock import Clock
from bot.commands import collect_commands, publish_menus
from bot.context import BotContext, env_of
from bot.faq import admin_handlers as faq_admin
from bot.faq import handlers as faq
from bot.faq import handoff_handlers as handoff
from bot.faq import library as faq_library
from bot.faq import smalltalk
from bot.formatting import template_globals
from bot.i18n import Templates
from bot.loyalty import award_handlers as loyalty_award
from bot.loyalty import expiry as loyalty_expiry
from bot.loyalty import handlers as loyalty
from bot.loyalty import membership as loyalty_membership
from bot.loyalty import webhooks as loyalty_webhooks
from bot.loyalty.order_events import OrderListeners
from bot.onboarding import handlers as onboarding
from bot.outreach import campaigns as outreach_campaigns
from bot.outreach import handlers as outreach
from bot.outreach import jobs as outreach_jobs
from bot.referrals import handlers as referrals
from bot.referrals import jobs as referral_jobs
from bot.referrals import service as referral_service
from bot.referrals import start_reply as referral_start
from bot.send_budget import ReplyFirstRateLimiter
from bot.settings import Settings, SettingsError
from bot.surveys import handlers as surveys
from bot.surveys import jobs as survey_jobs
from bot.text_router import TextRouter
from bot.unit_of_work import CommitBeforeSending
from bot.update_processor import OrderedUpdateProcessor
from bot.web import WebServer, build_web_app
from storage.db import Database
from storage.migrate import current_revisions, head_revision, upgrade_to_head
from storage.rollups import set_rollup_timezone

logger = logging.getLogger(__name__)

# Features in registration order, after the first step of every update (its unit of work and customer,
# group −2) and before its last (the unit committed, in the last group). Within handler group 0 the first
# matching handler wins, so specific handlers come before general ones, and `fallback` (unknown commands,
# stickers) comes last.
FEATURES = [
    customer_step,  # groups −2 and last: one unit of work and one customer lookup per update
    onboarding,  # /start, /help, /language, /stop, /forgetme, block tracking
    surveys,  # /survey, score buttons, Skip
    loyalty,  # /balance, /history, /rewards, /card, /phone, shared contacts
    loyalty_award,  # /award (merchants)
    referrals,  # /referral (its /start deep links are handled inside onboarding's /start)
    faq,  # /faq (top questions; /faq <subcommand> for merchants), /human, answer and vote buttons
    faq_admin,  # Keep/Cancel/Delete buttons of the merchants' FAQ editor
    handoff,  # staff replies (group -1), /r, /close, customers' media during a conversation (before fallback)
    outreach,  # /birthday, /broadcast (merchants) and its buttons
    analytics,  # /stats, /cohort, /export (merchants)
    fallback,  # must stay last
]

# Run once when a customer joins (first contact), inside that update's transaction.
JOIN_LISTENERS: list = [loyalty_membership.welcome]  # member code, welcome bonus, orders waiting for them

# Run inside /start's transaction; each may return a follow-up sent after the welcome.
START_LISTENERS: list = [referral_start.on_start]  # an invitation link attributes the new customer

# Free text goes to these consumers in this order; the first that accepts it ends the search.
TEXT_CONSUMERS: list = [
    faq_admin.consume_draft,  # a merchant's step while adding/editing an FAQ entry (merchants only)
    handoff.consume_customer_text,  # an open conversation with the shop team takes everything
    surveys.consume_survey_reason,  # the "why?" right after a survey score
    smalltalk.consume_small_talk,  # "thanks!", "السلام عليكم", 👍: a reply in kind, never an FAQ gap
    faq.consume_question,  # FAQ matching: an answer, a choice of two, or the offer of a person
]

# Functions that add HTTP routes to the bot's web server (shop webhooks and the like).
WEB_ROUTES: list = [loyalty_webhooks.install]

# Functions `schedule(application)` that add repeating jobs to the JobQueue.
JOBS: list = [
    survey_jobs.schedule,  # CSAT after purchases, periodic NPS
    loyalty_expiry.schedule,  # record expired points (only when LOYALTY_EXPIRY_DAYS is set)
    referral_jobs.schedule,  # reward referrals whose first purchase cleared the return window
    faq_library.schedule,  # seed the FAQ from FAQ_FILE once, right after start (a one-off job)
    outreach_jobs.schedule,  # birthday and win-back sweep; outbox dispatch (broadcasts, surveys)
]


def order_listeners() -> OrderListeners:
    """What other features do when an order arrives or is reversed, called by purchase intake inside the
    order's transaction on every path (/award, shop webhooks, `import-orders`), in this order."""
    return OrderListeners(
        on_order=(
            referral_service.on_order,  # a referee's first qualifying purchase makes their referral pending
            outreach_campaigns.on_order,  # a purchase ends the win-back sequence and counts as its conversion
        ),
        on_reversal=(
            referral_service.on_reversal,  # a refund within the return window cancels the referral
        ),
        order_audiences=(referral_service.order_audience, outreach_campaigns.order_audience),
    )


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    db: Database | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
) -> Application:
    """Assemble the bot. Nothing is opened here: the database and web server start in post_init."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is required to build the application")
    templates = Templates(
        settings.templates_dir,
        default_locale=settings.default_locale,
        globals_=template_globals(settings),
    )
    try:
        phrasebook = smalltalk.load_file(settings.smalltalk_file)
    except ValueError as error:
        raise SettingsError(f"setting SMALLTALK_FILE is invalid: {error}") from None
    set_rollup_timezone(settings.timezone)  # analytics rollups bucket orders by the shop's local day
    clock = clock or Clock()
    builder = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .context_types(ContextTypes(context=BotContext))
        .defaults(Defaults(parse_mode="HTML"))
        .rate_limiter(
            CommitBeforeSending(
                ReplyFirstRateLimiter(
                    max_rate=settings.telegram_max_rate,
                    bulk_rate=settings.outreach_rate,
                    max_retries=3,
                    clock=clock,
                )
            )
        )
        # Chats concurrently, each chat and each user in arrival order, at most UPDATE_CONCURRENCY at once.
        .concurrent_updates(OrderedUpdateProcessor(settings.update_concurrency))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = builder.build()

    application.bot_data.update(
        settings=settings,
        templates=templates,
        clock=clock,
        **{smalltalk.PHRASEBOOK_KEY: phrasebook},
        commands=collect_commands(FEATURES),
        join_listeners=tuple(JOIN_LISTENERS),
        start_listeners=tuple(START_LISTENERS),
        order_listeners=order_listeners(),
        injected_db=db,
        migrate=migrate,
        webhook_secret=(
            settings.webhook_secret.get_secret_value()
            if settings.webhook_secret
            else secrets.token_urlsafe(32)
        ),
    )
    for feature in FEATURES:
        application.add_handlers(feature.handlers())
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, TextRouter(TEXT_CONSUMERS))
    )
    application.add_error_handler(errors.error_handler)
    return application


async def _post_init(application: Application) -> None:
    """Open the database (migrating it), publish command menus, schedule jobs, start the web server."""
    data = application.bot_data
    settings: Settings = data["settings"]
    db = data["injected_db"] or Database(settings.database_url)
    data["db"] = db
    if data["migrate"]:
        before = await current_revisions(db)
        await upgrade_to_head(db)
        if before != {head_revision()}:
            logger.info(
                "Database upgraded from %s to %s", ", ".join(sorted(before)) or "nothing", head_revision()
            )
    try:
        await publish_menus(application, settings, data["templates"])
    except Exception:  # menus are cosmetic; a Telegram hiccup must not keep the bot from starting
        logger.warning("Could not publish command menus", exc_info=True)
    for schedule in JOBS:
        schedule(application)
    if settings.port is not None:
        server = WebServer(build_web_app(application, WEB_ROUTES), settings.listen_host, settings.port)
        await server.start()
        data["web_server"] = server


async def _post_shutdown(application: Application) -> None:
    """Stop the web server and close the database, unless the caller owns it."""
    data = application.bot_data
    server = data.pop("web_server", None)
    if server is not None:
        await server.stop()
    if "db" in data:
        try:  # the FAQ answers counted since the last flush
            await faq_library.flush_hits(env_of(application), data)
        except Exception:
            logger.warning("Could not save the FAQ answer counts", exc_info=True)
    db = data.pop("db", None)
    if db is not None and data["injected_db"] is None:
        await db.dispose()
