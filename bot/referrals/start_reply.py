"""What the referral programme says outside /referral: its terms for the templates, and the answer to a
/start that came through an invitation link (`on_start`, one of START_LISTENERS, run by /start)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from bot.context import BotContext
from bot.referrals import rules
from bot.referrals.service import StartOutcome, StartResult, attribute_on_start
from bot.replies import reply
from bot.unit_of_work import Action
from storage.models import Customer


def terms(context: BotContext) -> dict:
    """What the programme offers, for the templates."""
    settings = context.settings
    minimum = rules.min_order_minor(settings.referral_min_order_amount, settings.currency_exponent)
    return {
        "referrer_reward": settings.referral_rewards.referrer,
        "referee_reward": settings.referral_rewards.referee,
        "min_amount": minimum,  # minor units, 0 for any order
        "days": settings.loyalty_pending_days,
        "cap": settings.referral_weekly_cap,
    }


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
