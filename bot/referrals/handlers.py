"""Referrals for customers: /referral (code, link, share button, figures)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext
from bot.loyalty.membership import member
from bot.referrals import rules
from bot.referrals.start_reply import terms
from bot.replies import reply
from bot.unit_of_work import handles
from storage import referrals as store
from storage.typed import saved_id

CUSTOMER_COMMANDS = ("referral",)
MERCHANT_COMMANDS: tuple[str, ...] = ()
LABELS = "referrals/labels.html"


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


def handlers() -> list[BaseHandler]:
    return [CommandHandler("referral", show_referral, filters=filters.ChatType.PRIVATE)]
