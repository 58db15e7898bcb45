"""Loyalty for customers: /balance, /history, /rewards (redeem with confirmation), /card, /phone.

Card and phone handlers live in card_handlers, membership (welcome bonus, waiting orders) in membership.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.loyalty import purchases, rules
from bot.loyalty.card_handlers import ask_phone, save_phone, show_card
from bot.loyalty.membership import member
from bot.loyalty.rewards import NotEnoughPoints, redeem
from bot.replies import edit_or_reply, reply
from bot.unit_of_work import handles
from bot.updates import data_of, query_of
from storage import loyalty as store
from storage.typed import saved_id

__all__ = ["handlers"]

CUSTOMER_COMMANDS = ("balance", "history", "rewards", "card", "phone")
MERCHANT_COMMANDS: tuple[str, ...] = ()
HISTORY_PAGE = 5
BUTTONS = "loyalty/buttons.html"


@handles(writes=False, joins=True)
async def show_balance(update: Update, context: BotContext) -> None:
    """Points available and pending, tier and progress to the next tier."""
    customer = member(context)
    settings, now = context.settings, context.clock.now()
    programme = settings.loyalty_programme
    async with context.uow.reading() as session:
        current = await purchases.balance(session, settings=settings, customer_id=saved_id(customer), now=now)
        spend = await store.spend_since(
            session,
            customer_id=saved_id(customer),
            since=now - timedelta(days=rules.TIER_WINDOW_DAYS),
            until=now + timedelta(seconds=1),
        )
    tier = programme.tier_for(spend, settings.currency_exponent, locale=customer.locale)
    upcoming = programme.next_tier(tier, locale=customer.locale)
    unit = 10**settings.currency_exponent
    values = {"tier": tier.name, "next_tier": upcoming.name if upcoming else None, "missing": 0, "bar": ""}
    if upcoming is not None:
        span = (upcoming.min_spend - tier.min_spend) * unit
        values["bar"] = rules.progress_bar((spend - tier.min_spend * unit) / span)
        values["missing"] = upcoming.min_spend * unit - spend  # minor units
    await reply(
        update,
        context,
        "loyalty/balance.html",
        locale=customer.locale,
        balance=current,
        code=customer.member_code,
        **values,
    )


@handles(writes=False, joins=True)
async def show_history(update: Update, context: BotContext) -> None:
    """The customer's ledger, newest first, a page at a time."""
    customer = member(context)
    page = 0
    if update.callback_query is not None:
        await update.callback_query.answer()
        page = max(0, int((update.callback_query.data or "loy:h:0").rsplit(":", 1)[1]))
    async with context.uow.reading() as session:
        entries, total = await store.ledger_page(
            session, customer_id=saved_id(customer), page=page, size=HISTORY_PAGE
        )
        pages = max(1, -(-total // HISTORY_PAGE))
        if page >= pages:  # a stale or forged button: show the last page
            page = pages - 1
            entries, _ = await store.ledger_page(
                session, customer_id=saved_id(customer), page=page, size=HISTORY_PAGE
            )
    locale = customer.locale
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                context.templates.label(locale, BUTTONS, "newer"), callback_data=f"loy:h:{page - 1}"
            )
        )
    if page + 1 < pages:
        nav.append(
            InlineKeyboardButton(
                context.templates.label(locale, BUTTONS, "older"), callback_data=f"loy:h:{page + 1}"
            )
        )
    # A redemption's note is the reward id; the customer knows the reward by its benefit, in their language.
    benefits = {reward.id: reward.benefit for reward in context.settings.loyalty_programme.rewards(locale)}
    rows = [
        {
            "delta": entry.delta,
            "kind": entry.kind,
            "date": entry.available_at,  # the templates show the shop's day
            "note": (
                benefits.get(entry.note, entry.note)
                if entry.kind == "redeem" and entry.note is not None
                else entry.note
            ),
        }
        for entry in entries
    ]
    await edit_or_reply(
        update,
        context,
        "loyalty/history.html",
        locale=locale,
        entries=rows,
        page=page + 1,
        pages=pages,
        reply_markup=InlineKeyboardMarkup([nav]) if nav else None,
    )


@handles(writes=False, joins=True)
async def show_rewards(update: Update, context: BotContext) -> None:
    """The reward catalogue with a redeem button for each reward."""
    customer = member(context)
    catalogue = context.settings.loyalty_programme.rewards(customer.locale)
    async with context.uow.reading() as session:
        current = await purchases.balance(
            session, settings=context.settings, customer_id=saved_id(customer), now=context.clock.now()
        )
    buttons = [
        [
            InlineKeyboardButton(
                context.templates.label(
                    customer.locale, BUTTONS, "redeem", name=reward.benefit, cost=reward.cost
                ),
                callback_data=f"loy:r:{reward.id}",
            )
        ]
        for reward in catalogue
    ]
    await reply(
        update,
        context,
        "loyalty/rewards.html",
        locale=customer.locale,
        rewards=catalogue,
        available=current.available,
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )


@handles(writes=False, joins=True)
async def ask_redeem(update: Update, context: BotContext) -> None:
    """Ask to confirm a redemption; the confirm button carries a one-time key against double taps."""
    query = query_of(update)
    data = data_of(query)
    await query.answer()
    customer = member(context)
    reward = context.settings.loyalty_programme.reward(data[len("loy:r:") :], customer.locale)
    if reward is None:
        await edit_or_reply(update, context, "loyalty/unknown_reward.html", locale=customer.locale)
        return
    nonce = secrets.token_hex(6)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.templates.label(customer.locale, BUTTONS, "confirm"),
                    callback_data=f"loy:y:{reward.id}:{nonce}",
                ),
                InlineKeyboardButton(
                    context.templates.label(customer.locale, BUTTONS, "cancel"), callback_data="loy:n"
                ),
            ]
        ]
    )
    await edit_or_reply(
        update,
        context,
        "loyalty/redeem_confirm.html",
        locale=customer.locale,
        reward=reward,
        reply_markup=keyboard,
    )


@handles(writes=True, joins=True)
async def confirm_redeem(update: Update, context: BotContext) -> None:
    """Redeem on "yes" (once per confirmation), leave the points alone on "cancel"."""
    query = query_of(update)
    data = data_of(query)
    await query.answer()
    customer = member(context)
    locale = customer.locale
    if data == "loy:n":
        await edit_or_reply(update, context, "loyalty/redeem_cancelled.html", locale=locale)
        return
    _, _, reward_id, nonce = data.split(":", 3)
    # The coupon carries the benefit in the customer's language, as the confirmation showed it.
    reward = context.settings.loyalty_programme.reward(reward_id, locale)
    if reward is None:
        await edit_or_reply(update, context, "loyalty/unknown_reward.html", locale=locale)
        return
    try:
        async with context.uow.writing() as session:
            coupon, left = await redeem(
                session,
                settings=context.settings,
                now=context.clock.now(),
                customer_id=saved_id(customer),
                reward=reward,
                key=nonce,
            )
    except NotEnoughPoints as short:
        await edit_or_reply(
            update,
            context,
            "loyalty/not_enough.html",
            locale=locale,
            reward=reward,
            available=short.available,
        )
        return
    await edit_or_reply(
        update, context, "loyalty/redeemed.html", locale=locale, reward=reward, code=coupon.code, left=left
    )


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("balance", show_balance, filters=private),
        CommandHandler("history", show_history, filters=private),
        CallbackQueryHandler(show_history, pattern=r"^loy:h:\d{1,6}$"),
        CommandHandler("rewards", show_rewards, filters=private),
        CallbackQueryHandler(ask_redeem, pattern=r"^loy:r:[A-Za-z0-9_-]{1,24}$"),
        CallbackQueryHandler(confirm_redeem, pattern=r"^loy:(n|y:[A-Za-z0-9_-]{1,24}:[0-9a-f]{12})$"),
        CommandHandler("card", show_card, filters=private),
        CommandHandler("phone", ask_phone, filters=private),
        MessageHandler(filters.CONTACT & private, save_phone),
    ]
