"""Referrals for customers: /referral (code, link, share button, figures) and the reply to a link /start."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext
from bot.loyalty.membership import member
from bot.loyalty.rules import format_amount
from bot.referrals import rules
from bot.referrals.service import StartOutcome, StartResult, attribute_on_start
from bot.replies import reply
from bot.unit_of_work import Action, handles
from storage import referrals as store
from storage.models import Customer
from storage.typed import saved_id

CUSTOMER_COMMANDS = ("referral",)
MERCHANT_COMMANDS: tuple[str, ...] = ()
LABELS = "referrals/labels.html"


def terms(context: BotContext) -> dict:
    """What the programme offers, for the templates."""
    settings = context.settings
    minimum = rules.min_order_minor(settings.referral_min_order_amount, settings.currency_exponent)
    return {
        "referrer_reward": rules.parse_reward(settings.referral_referrer_reward),
        "referee_reward": rules.parse_reward(settings.referral_referee_reward),
        "min_amount": format_amount(minimum, settings.currency_exponent) if minimum else "",
        "days": settings.loyalty_pending_days,
        "cap": settings.referral_weekly_cap,
    }


@handles(writes=True, joins=True)
async def show_referral(update: Update, context: BotContext) -> None:
    """The customer's invitation code and link, a share button, and how their invitations went."""
    customer = member(context)
    async with context.uow.writing() as session:
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


async def on_start(
    update: Update,
    context: BotContext,
    session: AsyncSession,
    *,
    customer: Customer,
    created: bool,
    payload: str | None,
) -> Action | None:
    """Start listener: a /start with an invitation link attributes the customer it created to the link's
    owner, in /start's transaction; after the welcome the customer hears how that went."""
    result = await attribute_on_start(
        session,
        settings=context.settings,
        now=context.clock.now(),
        customer=customer,
        created=created,
        payload=payload,
    )
    if result.outcome == StartOutcome.NOT_A_REFERRAL:
        return None
    return lambda: answer_start(update, context, result, locale=customer.locale)


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
