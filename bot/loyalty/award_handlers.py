"""Loyalty for the shop team: /award <member code|phone|telegram id> <amount> [order id]."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.formatting import latin_digits
from bot.loyalty import purchases, rules
from bot.loyalty.notify import tell_points_earned
from bot.merchants import merchant_only
from bot.replies import reply, user_locale
from bot.updates import message_of
from storage import loyalty as store
from storage.customers import get_customer_by_id

CUSTOMER_COMMANDS: tuple[str, ...] = ()
MERCHANT_COMMANDS = ("award",)


def plausible_ref(ref: str) -> bool:
    """/award takes a member code, a phone number or a Telegram id; anything else is a typo."""
    return bool(store.MEMBER_CODE.match(ref.upper()) or store.is_number(ref) or store.normalize_phone(ref))


@merchant_only
async def award(update: Update, context: BotContext) -> None:
    """Record an in-store purchase and award its points, once per order id."""
    args = [latin_digits(arg) for arg in context.args or []]  # Arabic-Indic or Persian digits read too
    if len(args) not in (2, 3) or not plausible_ref(args[0]):
        await reply(update, context, "loyalty/award_usage.html")
        return
    ref, amount_text = args[0], args[1]
    settings, now = context.settings, context.clock.now()
    try:
        amount = rules.parse_amount(
            amount_text, exponent=settings.currency_exponent, max_units=settings.loyalty_max_order_amount
        )
    except ValueError as error:
        await reply(update, context, "loyalty/award_bad.html", reason=str(error))
        return
    message = message_of(update)
    # Without an order id, the Telegram message itself identifies the purchase: a redelivered update
    # cannot award twice.
    order_id = args[2] if len(args) == 3 else f"tg-{message.chat_id}-{message.message_id}"
    async with context.uow.writing() as session:
        customer = await store.find_customer(session, ref=ref)
        # An unknown member code, or a number too short to be a phone or a newcomer's Telegram id, is a typo:
        # kept for nobody, it would use up the order id.
        if customer is None and (
            store.MEMBER_CODE.match(ref.upper()) or (store.is_number(ref) and len(ref) < 5)
        ):
            unknown = True
        else:
            unknown = False
            try:
                outcome = await purchases.ingest_order(
                    session,
                    settings=settings,
                    listeners=context.order_listeners,
                    now=now,
                    external_id=order_id,
                    amount_minor=amount,
                    ordered_at=now,
                    customer_id=customer.id if customer else None,
                    customer_ref=ref,
                    source="award",
                )
            except purchases.BadOrder as error:
                await reply(update, context, "loyalty/award_bad.html", reason=error.reason)
                return
        name = None
        if not unknown and outcome.customer_id is not None:
            linked = await get_customer_by_id(session, customer_id=outcome.customer_id)
            name = linked.display_name if linked else None
    if unknown:
        await reply(update, context, "loyalty/award_unknown.html", ref=ref)
        return
    values: dict[str, Any] = {
        "order_id": order_id,
        "amount": amount,
    }  # minor units: the templates format money
    if not outcome.created:
        await reply(update, context, "loyalty/award_duplicate.html", **values)
    elif outcome.customer_id is None:
        await reply(update, context, "loyalty/award_kept.html", ref=ref, **values)
    else:
        await reply(
            update,
            context,
            "loyalty/award_done.html",
            name=name,
            points=outcome.points,
            tier=settings.loyalty_programme.tier_name(
                outcome.tier, await user_locale(context, update.effective_user)
            ),
            available_on=outcome.available_at,  # a moment: the templates show the shop's day
            **values,
        )
        await tell_points_earned(
            context.bot,
            db=context.db,
            templates=context.templates,
            settings=settings,
            now=now,
            outcome=outcome,
        )


def handlers() -> list[BaseHandler]:
    return [CommandHandler("award", award)]
