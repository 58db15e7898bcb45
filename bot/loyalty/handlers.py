"""Loyalty for customers: /balance, /history, /rewards (redeem with confirmation), /coupons, /card, /phone.

/coupons lives in coupon_handlers, card and phone handlers in card_handlers, membership (welcome bonus,
waiting orders) in membership.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.callback_kinds import AskRedeem, CancelRedeem, ConfirmRedeem, CouponQr, HistoryPage
from bot.callbacks import ButtonHandler
from bot.context import BotContext
from bot.loyalty import purchases, rules
from bot.loyalty.card_handlers import ask_phone, save_phone, show_card
from bot.loyalty.coupon_handlers import send_coupon_qr, show_coupons
from bot.loyalty.membership import member
from bot.loyalty.rewards import NotEnoughPoints, redeem
from bot.replies import answer_inactive, edit_or_reply, reply
from bot.unit_of_work import handles
from bot.updates import query_of
from storage import loyalty as store
from storage import redeem_tokens
from storage.models import PointsEntry
from storage.redeem_tokens import TokenState
from storage.typed import saved_id

__all__ = ["handlers"]

CUSTOMER_COMMANDS = ("balance", "history", "rewards", "coupons", "card", "phone")
MERCHANT_COMMANDS: tuple[str, ...] = ()
HISTORY_PAGE = 5
CONFIRM_MINUTES = 10  # a "Yes, redeem" button works this long after /rewards asked
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


def history_row(
    entry: PointsEntry, ordered_at: datetime | None, *, now: datetime, benefits: dict[str, str]
) -> dict[str, Any]:
    """One /history line. Its date is when it happened (a purchase's order date), never a future one; points
    still in the return window carry the date they become available instead of passing for earned."""
    happened = ordered_at if entry.kind == "earn" and ordered_at is not None else entry.available_at
    pending = entry.delta > 0 and entry.available_at > now
    return {
        "delta": entry.delta,
        "kind": entry.kind,
        "date": min(happened, now),  # the templates show the shop's day
        "pending_until": entry.available_at if pending else None,
        # A redemption's note is the reward id; the customer knows the reward by its benefit.
        "note": (
            benefits.get(entry.note, entry.note)
            if entry.kind == "redeem" and entry.note is not None
            else entry.note
        ),
    }


@handles(writes=False, joins=True)
async def show_history(update: Update, context: BotContext) -> None:
    """The customer's ledger, newest first, a page at a time."""
    customer = member(context)
    page = 0
    if update.callback_query is not None:
        await update.callback_query.answer()
        page = HistoryPage.of(update).page
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
                context.templates.label(locale, BUTTONS, "newer"), callback_data=HistoryPage(page - 1).pack()
            )
        )
    if page + 1 < pages:
        nav.append(
            InlineKeyboardButton(
                context.templates.label(locale, BUTTONS, "older"), callback_data=HistoryPage(page + 1).pack()
            )
        )
    # Reward benefits in the customer's language, for the notes of their redemptions.
    benefits = {reward.id: reward.benefit for reward in context.settings.loyalty_programme.rewards(locale)}
    now = context.clock.now()
    rows = [history_row(entry, ordered_at, now=now, benefits=benefits) for entry, ordered_at in entries]
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
                callback_data=AskRedeem(reward.id).pack(),
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


@handles(writes=True, joins=True)
async def ask_redeem(update: Update, context: BotContext) -> None:
    """Ask to confirm a redemption; the confirm button carries a token the bot stores for this customer and
    reward (storage/redeem_tokens.py), so only a confirmation it issued redeems, once, for a while."""
    query = query_of(update)
    await query.answer()
    customer = member(context)
    reward = context.settings.loyalty_programme.reward(AskRedeem.of(update).reward_id, customer.locale)
    if reward is None:
        await edit_or_reply(update, context, "loyalty/unknown_reward.html", locale=customer.locale)
        return
    async with context.uow.writing() as session:
        token = await redeem_tokens.issue_token(
            session,
            customer_id=saved_id(customer),
            reward_id=reward.id,
            now=context.clock.now(),
            lifetime=timedelta(minutes=CONFIRM_MINUTES),
        )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.templates.label(customer.locale, BUTTONS, "confirm"),
                    callback_data=ConfirmRedeem(reward.id, token).pack(),
                ),
                InlineKeyboardButton(
                    context.templates.label(customer.locale, BUTTONS, "cancel"),
                    callback_data=CancelRedeem().pack(),
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


@handles(writes=False, joins=True)
async def cancel_redeem(update: Update, context: BotContext) -> None:
    """ "Cancel" on the confirmation: the points stay (the token expires unused)."""
    await query_of(update).answer()
    await edit_or_reply(update, context, "loyalty/redeem_cancelled.html", locale=member(context).locale)


@handles(writes=True, joins=True)
async def confirm_redeem(update: Update, context: BotContext) -> None:
    """Redeem on "yes": only with a token the bot issued to this customer for this reward, not expired;
    a repeated tap of a used one (a double tap) shows the same coupon, anything else is no longer active."""
    query = query_of(update)
    button = ConfirmRedeem.of(update)
    customer = member(context)
    locale = customer.locale
    now = context.clock.now()
    # The coupon carries the benefit in the customer's language, as the confirmation showed it.
    reward = context.settings.loyalty_programme.reward(button.reward_id, locale)
    coupon, left = None, 0
    try:
        async with context.uow.writing() as session:
            state = TokenState.INVALID
            if reward is not None:
                state = await redeem_tokens.take_token(
                    session, token=button.token, customer_id=saved_id(customer), reward_id=reward.id, now=now
                )
            if reward is not None and state != TokenState.INVALID:
                # The token is the idempotency key: a used one finds the coupon it gave.
                coupon, left = await redeem(
                    session,
                    settings=context.settings,
                    now=now,
                    customer_id=saved_id(customer),
                    reward=reward,
                    key=button.token,
                )
    except NotEnoughPoints as short:  # the block rolled back: the token stays usable until it expires
        await query.answer()
        await edit_or_reply(
            update,
            context,
            "loyalty/not_enough.html",
            locale=locale,
            reward=reward,
            available=short.available,
        )
        return
    if coupon is None or reward is None:  # forged, someone else's, expired, or a reward no longer offered
        await answer_inactive(update, context)
        return
    await query.answer()
    await edit_or_reply(
        update,
        context,
        "loyalty/redeemed.html",
        locale=locale,
        reward=reward,
        code=coupon.code,
        until=coupon.expires_at,
        min_order=coupon.min_order_minor,
        left=left,
    )


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("balance", show_balance, filters=private),
        CommandHandler("history", show_history, filters=private),
        ButtonHandler(show_history, HistoryPage),
        CommandHandler("rewards", show_rewards, filters=private),
        ButtonHandler(ask_redeem, AskRedeem),
        ButtonHandler(confirm_redeem, ConfirmRedeem),
        ButtonHandler(cancel_redeem, CancelRedeem),
        CommandHandler("coupons", show_coupons, filters=private),
        ButtonHandler(send_coupon_qr, CouponQr),
        CommandHandler("card", show_card, filters=private),
        CommandHandler("phone", ask_phone, filters=private),
        MessageHandler(filters.CONTACT & private, save_phone),
    ]
