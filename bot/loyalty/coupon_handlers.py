"""/coupons: the customer's unused coupons (issued, not expired) with their benefit and expiry, each with
a button that copies its code (Telegram's CopyTextButton), to paste at an online checkout."""

from __future__ import annotations

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.loyalty.membership import member
from bot.replies import reply
from bot.unit_of_work import handles
from storage import coupons as store
from storage.typed import saved_id

BUTTONS = "loyalty/buttons.html"
# Telegram allows 100 buttons in a keyboard; a customer with more unused coupons sees the soonest to expire.
MOST_SHOWN = 20


@handles(writes=False, joins=True)
async def show_coupons(update: Update, context: BotContext) -> None:
    customer = member(context)
    locale = customer.locale
    async with context.uow.reading() as session:
        unused = await store.unused_coupons(session, customer_id=saved_id(customer), now=context.clock.now())
    shown = unused[:MOST_SHOWN]
    markup = None
    if shown:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        context.templates.label(locale, BUTTONS, "copy_code", code=coupon.code),
                        copy_text=CopyTextButton(coupon.code),
                    )
                ]
                for coupon in shown
            ]
        )
    await reply(
        update,
        context,
        "loyalty/coupons.html",
        locale=locale,
        coupons=shown,
        more=len(unused) - len(shown),
        reply_markup=markup,
    )
