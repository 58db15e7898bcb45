"""Loyalty card and phone: /card (member code and QR), /phone (share the phone to link shop orders)."""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from bot.context import BotContext
from bot.loyalty import purchases
from bot.loyalty.card import qr_png
from bot.loyalty.membership import member
from bot.replies import reply
from bot.unit_of_work import handles
from bot.updates import chat_of, message_of
from storage import loyalty as store

BUTTONS = "loyalty/buttons.html"


@handles(writes=False, joins=True)
async def show_card(update: Update, context: BotContext) -> None:
    """The member code as text and as a QR image to show at the till."""
    customer = member(context)
    caption = context.templates.render(
        customer.locale, "loyalty/card.html", code=customer.member_code, name=customer.display_name
    )
    await context.bot.send_photo(
        chat_of(update).id, qr_png(customer.member_code or ""), caption=caption, parse_mode="HTML"
    )
    if not customer.phone:
        await ask_phone(update, context)


@handles(writes=False, joins=True)
async def ask_phone(update: Update, context: BotContext) -> None:
    """Offer a button that shares the customer's own phone number."""
    customer = member(context)
    button = KeyboardButton(
        context.templates.label(customer.locale, BUTTONS, "share_phone"), request_contact=True
    )
    markup = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    await reply(update, context, "loyalty/phone_ask.html", locale=customer.locale, reply_markup=markup)


@handles(writes=True, joins=True)
async def save_phone(update: Update, context: BotContext) -> None:
    """Keep the shared phone (only the sender's own) and credit the shop orders placed with it."""
    contact = message_of(update).contact
    if contact is None:
        raise ValueError("save_phone is registered for messages with a contact")
    sender = update.effective_user
    if sender is None or context.customer is None:  # no sender to link the phone to: nothing changes
        await reply(update, context, "loyalty/phone_not_yours.html", reply_markup=ReplyKeyboardRemove())
        return
    customer = member(context)
    locale = customer.locale
    if contact.user_id != sender.id:
        await reply(
            update, context, "loyalty/phone_not_yours.html", locale=locale, reply_markup=ReplyKeyboardRemove()
        )
        return
    phone = store.normalize_phone(contact.phone_number)
    if phone is None:
        await reply(
            update, context, "loyalty/phone_invalid.html", locale=locale, reply_markup=ReplyKeyboardRemove()
        )
        return
    async with context.uow.writing() as session:
        await store.set_phone(session, customer=customer, phone=phone)
        linked = await purchases.link_customer(session, settings=context.settings, customer=customer)
    points = sum(outcome.points for outcome in linked)
    await reply(
        update,
        context,
        "loyalty/phone_saved.html",
        locale=locale,
        orders=len(linked),
        points=points,
        reply_markup=ReplyKeyboardRemove(),
    )
