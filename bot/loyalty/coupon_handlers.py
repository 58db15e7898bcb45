"""/coupons: the customer's unused coupons (issued, not expired) with their benefit and expiry, each with
a button that copies its code (Telegram's CopyTextButton), to paste at an online checkout, and one that
sends the code as a QR image (the /card image maker), to show at the till."""

from __future__ import annotations

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callback_kinds import CouponQr
from bot.context import BotContext
from bot.loyalty.card import qr_png
from bot.loyalty.membership import member
from bot.replies import answer_inactive, reply
from bot.unit_of_work import handles
from bot.updates import chat_of, query_of
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
                    ),
                    InlineKeyboardButton(
                        context.templates.label(locale, BUTTONS, "coupon_qr"),
                        callback_data=CouponQr(saved_id(coupon)).pack(),
                    ),
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


@handles(writes=False, joins=True)
async def send_coupon_qr(update: Update, context: BotContext) -> None:
    """The coupon's code as a QR image with its benefit and expiry; a coupon that is someone else's, used,
    void or expired gets the "no longer active" alert."""
    query = query_of(update)
    customer = member(context)
    async with context.uow.reading() as session:
        coupon = await store.unused_coupon(
            session,
            customer_id=saved_id(customer),
            coupon_id=CouponQr.of(update).coupon_id,
            now=context.clock.now(),
        )
    if coupon is None:
        await answer_inactive(update, context)
        return
    await query.answer()
    caption = context.templates.render(
        customer.locale, "loyalty/coupon_qr.html", coupon=coupon, min_order=coupon.min_order_minor
    )
    await context.bot.send_photo(chat_of(update).id, qr_png(coupon.code), caption=caption, parse_mode="HTML")
