"""Referrals for customers: /referral (code, link, share button, figures) and the reply to a link /start."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext
from bot.loyalty import handlers as loyalty
from bot.loyalty.rules import format_amount
from bot.referrals import rules
from bot.referrals.service import StartOutcome, StartResult
from bot.replies import reply
from storage import referrals as store
from storage.typed import saved_id

CUSTOMER_COMMANDS = ("referral",)
MERCHANT_COMMANDS: tuple[str, ...] = ()
LABELS = "referrals/labels.html"


def terms(context: BotContext) -> dict:
    """What the programme offers, for the templates."""
    settings = context.settings
    minimum = rules.min_order_minor(settings.referral_min_order_amount, settings.currency_exponent)
    return {
        "referrer_reward": settings.referral_rewards.referrer,
        "referee_reward": settings.referral_rewards.referee,
        "min_amount": format_amount(minimum, settings.currency_exponent) if minimum else "",
        "days": settings.loyalty_pending_days,
        "cap": settings.referral_weekly_cap,
    }


async def show_referral(update: Update, context: BotContext) -> None:
    """The customer's invitation code and link, a share button, and how their invitations went."""
    customer = await loyalty.member(update, context)
    async with context.db.session() as session:
        code = await store.ensure_referral_code(session, customer_id=saved_id(customer))
        stats = await store.referrer_stats(session, referrer_id=saved_id(customer))
    link = rules.deep_link(context.bot.username, code)
    locale = customer.locale
    share_text = context.templates.label(locale, LABELS, "share_text")
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.templates.label(locale, LABELS, "share"), url=rules.share_url(link, share_text)
                )
            ]
        ]
    )
    await reply(
        update,
        context,
        "referrals/referral.html",
        locale=locale,
        code=code,
        link=link,
        stats=stats,
        reply_markup=keyboard,
        **terms(context),
    )


async def answer_start(update: Update, context: BotContext, result: StartResult, *, locale: str) -> None:
    """After the welcome: confirm the invitation, or say clearly why the link was not applied."""
    if result.outcome == StartOutcome.NOT_A_REFERRAL:
        return
    if result.outcome == StartOutcome.ATTRIBUTED:
        await reply(
            update,
            context,
            "referrals/attributed.html",
            locale=locale,
            referrer=result.referrer_name,
            **terms(context),
        )
        return
    await reply(update, context, "referrals/refused.html", locale=locale, reason=result.outcome.value)


def handlers() -> list[BaseHandler]:
    return [CommandHandler("referral", show_referral, filters=filters.ChatType.PRIVATE)]
